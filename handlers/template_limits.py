"""The limits a campaign template renders within, and the checks that enforce them.

Each check runs *before* the operation it guards whenever the operation could allocate
much (`'x' * 10**9`, a `%099999999d` width, `replace('', …)`), so no single step of a
render costs more than a few microseconds; `handlers/campaign_templates.py` wires them
into jinja2's sandbox.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

OUTPUT_LIMIT = 4096  # Telegram refuses longer messages
RANGE_LIMIT = 1000
STEP_LIMIT = 10_000  # loop turns, calls, filters and operators in one render
VALUE_LIMIT = 16_384  # characters in any value a template makes
DIGITS_LIMIT = 1000
TIME_LIMIT = 1.0  # seconds; a backstop: the other limits are reached long before it
YIELD_EVERY = 64  # steps between two offers of the GIL to other threads
_LOG10_2 = math.log10(2)
_BITS_LIMIT = int(DIGITS_LIMIT / _LOG10_2)


class OverBudget(TemplateError):
    """A template went past one of the limits; `reason` says which, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Budget:
    deadline: float
    steps: int = 0


# Set for the duration of one render; None while compiling (constant folding calls filters).
_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget() -> Iterator[None]:
    """One render's allowance of steps and time."""
    token = _budget.set(_Budget(deadline=time.monotonic() + TIME_LIMIT))
    try:
        yield
    finally:
        _budget.reset(token)


def step() -> None:
    current = _budget.get()
    if current is None:
        return
    current.steps += 1
    if current.steps > STEP_LIMIT:
        raise OverBudget(f"the template takes more than {STEP_LIMIT} steps (loop turns, calls, filters)")
    if time.monotonic() > current.deadline:
        raise OverBudget(f"the template takes longer than {TIME_LIMIT:g} s to render")
    if not current.steps % YIELD_EVERY:
        # Renders run in a worker thread; hand the GIL to the event loop's thread now and
        # then instead of making it wait for the interpreter's 5 ms switch interval.
        time.sleep(0)


def _digits(number: int) -> int:
    return int(number.bit_length() * _LOG10_2) + 1


def size(value: Any, limit: int = VALUE_LIMIT) -> int:
    """About how many characters `str(value)` has. Stops counting once past `limit`, so it
    looks at no more than `limit` items whatever the value."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return _digits(value)
    if isinstance(value, range):
        return 8 * min(len(value), limit)
    if isinstance(value, Mapping):
        value = [item for pair in value.items() for item in pair]
    if isinstance(value, list | tuple | set | frozenset):
        total = 2
        for item in value:
            total += size(item, limit - total) + 2
            if total > limit:
                break
        return total
    return 8


def fits(characters: int) -> None:
    if characters > VALUE_LIMIT:
        raise OverBudget(f"a value over {VALUE_LIMIT} characters")


def checked(value: Any) -> Any:
    """A value some step produced, refused when it is over the limits."""
    if isinstance(value, int) and not isinstance(value, bool):
        if _digits(value) > DIGITS_LIMIT:
            raise OverBudget(f"a number over {DIGITS_LIMIT} digits")
    else:
        fits(size(value))
    return value


def _width(value: Any) -> None:
    """A number that sizes a result: a width, a count of slices."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > VALUE_LIMIT:
        raise OverBudget(f"a width or count over {VALUE_LIMIT}")


_PRINTF = re.compile(r"%(?:\([^)]*\))?([^a-zA-Z%(]*)[a-zA-Z%]")


def printf_widths(template: str) -> None:
    """`'%099999999d' % 1` allocates its width before anyone could look at the result."""
    for match in _PRINTF.finditer(template):
        spec = match.group(1)
        if "*" in spec:
            raise OverBudget("a width taken from the arguments (`*`) in a % format")
        for number in re.findall(r"\d+", spec):
            _width(int(number))


def format_widths(template: str) -> None:
    """The same for `'{:>99999999}'.format(x)`."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # malformed: str.format says so itself
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise OverBudget("a width taken from the arguments (`{}` inside a format spec)")
        for number in re.findall(r"\d+", spec):
            _width(int(number))


def before_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be over the limits, before computing it."""
    sequences = (str, bytes, list, tuple)
    numbers = isinstance(left, int) and isinstance(right, int)
    if operator == "*":
        if isinstance(left, int) and isinstance(right, sequences):
            left, right = right, left
        if isinstance(left, sequences) and isinstance(right, int):
            fits(size(left) * max(right, 0))
        # A product has at least this many bits; `checked` looks at the exact result.
        elif numbers and left.bit_length() + right.bit_length() - 1 > _BITS_LIMIT:
            raise OverBudget(f"a number over {DIGITS_LIMIT} digits")
    elif operator == "**":
        if numbers and right > 0 and abs(left) > 1 and (left.bit_length() - 1) * right > _BITS_LIMIT:
            raise OverBudget(f"a number over {DIGITS_LIMIT} digits")
    elif operator == "+":
        if isinstance(left, sequences) and isinstance(right, sequences):
            fits(size(left) + size(right))
    elif operator == "%" and isinstance(left, str):
        printf_widths(left)


def binop(operator: str, left: Any, right: Any, table: Mapping[str, Callable[[Any, Any], Any]]) -> Any:
    before_binop(operator, left, right)
    return checked(table[operator](left, right))


def _replaced(text: str, old: str, new: str) -> int:
    """The length of text.replace(old, new) without making it ('' matches between letters)."""
    if not old:
        return len(text) + (len(text) + 1) * len(new)
    return len(text) + text.count(old) * (len(new) - len(old))


def _joined(items: list[Any], separator: str) -> int:
    return sum(size(item) for item in items) + len(items) * len(separator)


# Filters whose numeric parameters size their result, by parameter name.
_SIZING = {
    "center": ("width",),
    "indent": ("width",),
    "wordwrap": ("width",),
    "truncate": ("length", "leeway"),
    "slice": ("slices",),
    "batch": ("linecount",),
}
CHECKED_FILTERS = frozenset({*_SIZING, "join", "replace", "format", "sum"})


def before_filter(name: str, arguments: dict[str, Any]) -> None:
    """Arguments of one of CHECKED_FILTERS by parameter name; may replace a one-shot
    iterable by a list so that it can be measured and still be used."""
    for parameter in _SIZING.get(name, ()):
        _width(arguments.get(parameter))
    if name == "join":
        arguments["value"] = items = list(arguments["value"])
        fits(_joined(items, str(arguments.get("d", ""))))
    elif name == "replace":
        fits(_replaced(str(arguments["s"]), str(arguments["old"]), str(arguments["new"])))
    elif name == "indent":
        text, width = str(arguments["s"]), arguments.get("width", 4)
        pad = len(width) if isinstance(width, str) else int(width)
        fits(len(text) + (text.count("\n") + 1) * pad)
    elif name == "wordwrap":
        text, width = str(arguments["s"]), max(int(arguments.get("width", 79)), 1)
        fits(len(text) + (len(text) // width + 1) * len(str(arguments.get("wrapstring") or "\n")))
    elif name == "format":
        printf_widths(str(arguments["value"]))
    elif name == "sum" and not isinstance(arguments.get("start", 0), int | float):
        raise OverBudget("sum() adds numbers only")  # adding lists is quadratic


def before_str_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Arguments of a bound method of a string; returns them, a one-shot iterable made a list."""
    text: str = method.__self__
    if method.__name__ == "join" and args:
        items = list(args[0])
        fits(_joined(items, text))
        return (items, *args[1:])
    if method.__name__ == "replace" and len(args) >= 2:
        fits(_replaced(text, str(args[0]), str(args[1])))
    for value in (*args, *kwargs.values()):
        _width(value)
    return args


# Methods of str that multiply a text by a number or by a table the template builds.
UNSAFE_STR_METHODS = frozenset({"expandtabs", "translate", "maketrans", "encode"})


def bounded_range(*args: int) -> range:
    try:
        items = range(*args)
        count = len(items)
    except OverflowError:  # more than a machine word can count
        count = RANGE_LIMIT + 1
    if count > RANGE_LIMIT:
        raise OverBudget(f"range() over {RANGE_LIMIT} items")
    return items
