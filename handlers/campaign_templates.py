"""The sandbox supervisors' campaign texts render in, with a budget.

jinja2's sandbox stops a template from reaching Python's internals, not from working
forever: two nested `range()` loops held a preview for 20 s. Here every render has a
budget (`handlers/template_limits.py`), enforced where the work happens rather than
guessed from the text:

- `range()` gives at most RANGE_LIMIT items;
- every loop turn, call, filter and operator is a step, at most STEP_LIMIT a render, and
  the render stops past TIME_LIMIT seconds;
- no value grows beyond VALUE_LIMIT characters nor a number beyond DIGITS_LIMIT digits;
  what could allocate much is checked before it runs, and constant expressions over the
  limits (`'x' * 10**9`) are refused when the template is compiled;
- the output is streamed and the render stops once the text is past OUTPUT_LIMIT, the
  length of a Telegram message.

A step costs microseconds, so a render costs at most STEP_LIMIT of them (~150 ms for the
worst we could write); callers render off the event loop (`asyncio.to_thread`), and no
single step holds the GIL long enough to delay the loop. Whatever a template does wrong
surfaces as a `jinja2.TemplateError`: `OverBudget` names the limit, anything else is
wrapped, so a bad text fails its own message and nothing more.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing, suppress
from typing import Any, cast

from jinja2 import StrictUndefined, Template, TemplateError, TemplateRuntimeError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from handlers import template_limits as limits
from handlers.template_limits import OUTPUT_LIMIT, OverBudget

__all__ = ["OverBudget", "compile_text", "render"]

_BINOPS = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "FloorDiv": "//", "Mod": "%", "Pow": "**"}


class _NotConstant(Exception):
    pass


def _constant(node: nodes.Node, table: Mapping[str, Callable[[Any, Any], Any]]) -> Any:
    """The value of a constant expression, computed under the same checks as at render."""
    if isinstance(node, nodes.Const):
        return limits.checked(node.value)
    if isinstance(node, nodes.BinExpr) and type(node).__name__ in _BINOPS:
        left, right = _constant(node.left, table), _constant(node.right, table)
        try:
            return limits.binop(_BINOPS[type(node).__name__], left, right, table)
        except OverBudget:
            raise
        except Exception as error:  # 1/0 and the like: left for the render to report
            raise _NotConstant from error
    raise _NotConstant


class _BoundedCodeGenerator(CodeGenerator):
    """jinja2's compiler, plus: constants checked, a step at every loop turn, `~` checked."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        table = self.environment.binop_table  # type: ignore[attr-defined]
        for expression in node.find_all((nodes.Const, nodes.BinExpr)):
            with suppress(_NotConstant):
                _constant(expression, table)
        super().visit_Template(node, frame)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # jinja allows no new node types; templates never produce EnvironmentAttribute, so
        # it marks the turn here and visit_ExprStmt writes it as a plain method call.
        turn = nodes.ExprStmt(nodes.EnvironmentAttribute("loop_turn"))
        turn.set_lineno(node.lineno)
        node.body = [turn, *node.body]
        super().visit_For(node, frame)

    def visit_ExprStmt(self, node: nodes.ExprStmt, frame: Frame) -> None:
        if isinstance(node.node, nodes.EnvironmentAttribute) and node.node.name == "loop_turn":
            self.writeline("environment.loop_turn()", node)
        else:
            super().visit_ExprStmt(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_checked((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


def _signature(function: Callable[..., Any]) -> inspect.Signature:
    """The parameters a filter is called with. jinja's async-capable filters wrap the plain
    one and take an evaluation context first, which the plain one does not declare."""
    signature = inspect.signature(function)
    wrapped = getattr(function, "__wrapped__", None)
    if hasattr(function, "jinja_pass_arg") and wrapped is not None and not hasattr(wrapped, "jinja_pass_arg"):
        hidden = inspect.Parameter("_eval_ctx", inspect.Parameter.POSITIONAL_ONLY)
        signature = signature.replace(parameters=[hidden, *signature.parameters.values()])
    return signature


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    signature = _signature(function) if name in limits.CHECKED_FILTERS else None

    @functools.wraps(function)  # keeps jinja's pass_context / pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        limits.step()
        if signature is not None:
            bound = signature.bind(*args, **kwargs)
            limits.before_filter(name, bound.arguments)
            args, kwargs = bound.args, bound.kwargs
        return limits.checked(function(*args, **kwargs))

    return bounded


def _concat(parts: Iterable[str]) -> str:
    """How jinja joins the output of a macro, a `{% set %}` block or a `caller()`."""
    parts = list(parts)
    limits.fits(sum(len(part) for part in parts))
    return "".join(parts)


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` passes here before it becomes text."""
    limits.fits(limits.size(value))
    return value


class BoundedSandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset(_BINOPS.values())
    concat = staticmethod(_concat)

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
        self.globals["range"] = limits.bounded_range
        self.globals.pop("lipsum", None)  # writes as many paragraphs as it is asked for
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def loop_turn(self) -> None:
        limits.step()

    def join_checked(self, parts: tuple[Any, ...]) -> str:
        limits.fits(sum(limits.size(part) for part in parts))
        return "".join(map(str, parts))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.step()
        return limits.binop(operator, left, right, self.binop_table)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        limits.step()
        if isinstance(getattr(obj, "__self__", None), str):
            args = limits.before_str_method(obj, args, kwargs)
        return limits.checked(super().call(context, obj, *args, **kwargs))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in limits.UNSAFE_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            limits.format_widths(value.__self__)
        return wrapped


@functools.cache
def _sandbox() -> BoundedSandbox:
    return BoundedSandbox()


@functools.lru_cache(maxsize=256)
def compile_text(text: str) -> Template:
    """Compiling a template costs 40× rendering it; a campaign sends one text a million
    times. A TemplateError for a text that is no template or holds an oversize constant."""
    try:
        return _sandbox().from_string(text)
    except RecursionError as error:  # (((((…))))) four thousand deep
        raise OverBudget("the template nests too deeply") from error


def _visible(chunks: Iterator[str]) -> str:
    """The text as sent (stripped), refused as soon as it must be longer than OUTPUT_LIMIT."""
    parts: list[str] = []
    length = 0  # characters kept, from the first that is not whitespace
    visible = 0  # up to the last that is not whitespace
    for chunk in chunks:
        if not parts:
            chunk = chunk.lstrip()
            if not chunk:
                continue
        parts.append(chunk)
        length += len(chunk)
        if trimmed := len(chunk.rstrip()):
            visible = length - len(chunk) + trimmed
        # Trailing whitespace is stripped before sending, but not without end.
        if visible > OUTPUT_LIMIT or length > 2 * OUTPUT_LIMIT:
            raise OverBudget(f"the template renders more than {OUTPUT_LIMIT} characters")
    return "".join(parts)[:visible]


def render(text: str, context: Mapping[str, Any]) -> str:
    """The text for one customer, stripped. CPU-bound (at most STEP_LIMIT small steps):
    from async code, call it through `asyncio.to_thread`."""
    template = compile_text(text)
    try:
        # jinja's generate() is a generator; closing it stops the render where we stopped.
        chunks = cast(Generator[str, None, None], template.generate(**context))
        with limits.budget(), closing(chunks):
            return _visible(chunks)
    except TemplateError:
        raise
    except RecursionError as error:
        raise OverBudget("the template nests macros or loops too deeply") from error
    except Exception as error:  # the template's own fault ("a" + 1): it fails its message only
        raise TemplateRuntimeError(f"{type(error).__name__}: {error}") from error
