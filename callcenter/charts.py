"""Chart geometry for server-rendered SVG (no JavaScript, no CDN: the console runs offline).

The functions here turn figures into pixel positions and axis ticks with values;
templates/console/chart_axes.html.j2 draws the axes (gridlines, tick values, titles given by
the page through the catalogue) and each page draws its marks, every value in a <title> so
it reads on hover."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from handlers.live_report import Interval

QUARTER = timedelta(minutes=15)


def nice_ticks(low: float, high: float, most: int = 5, *, whole: bool = False) -> list[float]:
    """Evenly spaced round values covering low..high in at most `most` steps, the step being
    1, 2 or 5 × 10ⁿ (`whole`: at least 1, for counts), the smallest such step that fits."""
    low, high = min(low, high), max(low, high)
    if high - low < 1e-9:
        high = low + 1
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    mantissas = (1, 2, 5)
    n = 0
    while True:
        step = mantissas[n % 3] * power * 10 ** (n // 3)
        n += 1
        if whole and step < 1:
            continue
        first = math.floor(low / step + 1e-9)
        last = math.ceil(high / step - 1e-9)
        if last - first <= most:
            digits = max(0, -math.floor(math.log10(step) + 1e-9))
            return [round(k * step, digits) for k in range(first, last + 1)]


def tick_label(value: float) -> str:
    """A tick's value as people write it: 2, not 2.0; −50 with a real minus sign."""
    text = f"{value:g}"
    return text.replace("-", "−")


@dataclass(frozen=True)
class Tick:
    at: float  # the pixel along its axis
    label: str


@dataclass(frozen=True)
class Scale:
    """Values low..high onto pixels bottom..top (an SVG's y grows downwards)."""

    low: float
    high: float
    bottom: float
    top: float

    def y(self, value: float) -> float:
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return round(self.bottom - share * (self.bottom - self.top), 1)

    def ticks(self, values: Sequence[float]) -> tuple[Tick, ...]:
        return tuple(Tick(self.y(v), tick_label(v)) for v in values)


@dataclass(frozen=True)
class Frame:
    """A width×height picture's plot area (left..right, top..bottom) and its axes' ticks."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    y2_ticks: tuple[Tick, ...] = ()  # a second value axis, on the right


def _frame(width: int, height: int, *, right_axis: bool = False) -> tuple[float, float, float, float]:
    """The plot area: room left for tick values, above for axis titles, below for the x labels
    and the x title, and on the right for a second axis's values."""
    return 34.0, 20.0, float(width - (40 if right_axis else 12)), float(height - 30)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the x value as the hover title shows it
    value: float | None


def path_of(points: Sequence[Point]) -> str:
    """An SVG path through the points with values; a missing value breaks the line."""
    parts: list[str] = []
    pen_up = True
    for p in points:
        if p.value is None:
            pen_up = True
            continue
        parts.append(f"{'M' if pen_up else 'L'}{p.x:.1f},{p.y:.1f}")
        pen_up = False
    return " ".join(parts)


@dataclass(frozen=True)
class LineChart:
    frame: Frame
    points: tuple[Point, ...]
    target: float | None  # the target line's pixel y

    @property
    def path(self) -> str:
        return path_of(self.points)


def line_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    low: float,
    high: float,
    target: float | None = None,
    titles: Sequence[str] | None = None,
    width: int = 600,
    height: int = 200,
) -> LineChart:
    """A line over a fixed value range (CSAT 1–5, NPS −100…100), one x label per point;
    `titles` name each point on hover (defaults to its label)."""
    box = left, top, right, bottom = _frame(width, height)
    scale = Scale(low, high, bottom, top)
    step = (right - left - 24) / max(len(labels) - 1, 1)
    xs = [round(left + 12 + i * step, 1) for i in range(len(labels))]
    names = titles if titles is not None else labels
    points = tuple(
        Point(x, scale.y(v) if v is not None else bottom, names[i], v)
        for i, (x, v) in enumerate(zip(xs, values, strict=True))
    )
    x_ticks = tuple(Tick(x, label) for x, label in zip(xs, labels, strict=True))
    frame = Frame(width, height, *box, scale.ticks(nice_ticks(low, high)), x_ticks)
    return LineChart(frame, points, scale.y(target) if target is not None else None)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    kind: str


@dataclass(frozen=True)
class BarChart:
    frame: Frame
    bars: tuple[Bar, ...]
    totals: tuple[Point, ...]  # each slot's total, placed just above its stack


def _stack(scale: Scale, x: float, width: float, label: str, parts: dict[str, int]) -> list[Bar]:
    """One slot's bars, each part on top of the ones before it (an empty part draws nothing)."""
    bars: list[Bar] = []
    below = 0
    for kind, value in parts.items():
        if value > 0:
            top = scale.y(below + value)
            bars.append(Bar(x, top, width, round(scale.y(below) - top, 1), label, value, kind))
        below += value
    return bars


def bar_chart(
    labels: Sequence[str], stacks: dict[str, Sequence[int]], *, width: int = 600, height: int = 200
) -> BarChart:
    """Stacked bars of counts, one slot per label, with a count axis from 0."""
    box = left, top, right, bottom = _frame(width, height)
    totals = [sum(values[i] for values in stacks.values()) for i in range(len(labels))]
    ticks = nice_ticks(0, max([*totals, 1]), 4, whole=True)
    scale = Scale(0, ticks[-1], bottom, top)
    slot = (right - left) / max(len(labels), 1)
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    above: list[Point] = []
    for i, label in enumerate(labels):
        x = left + i * slot
        x_ticks.append(Tick(round(x + slot / 2, 1), label))
        above.append(Point(round(x + slot / 2, 1), scale.y(totals[i]) - 3, label, totals[i]))
        parts = {kind: values[i] for kind, values in stacks.items()}
        bars += _stack(scale, round(x + slot * 0.2, 1), round(slot * 0.6, 1), label, parts)
    frame = Frame(width, height, *box, scale.ticks(ticks), tuple(x_ticks))
    return BarChart(frame, tuple(bars), tuple(above))


@dataclass(frozen=True)
class IntervalChart:
    """Today's calls per quarter hour (answered, abandoned and still waiting stacked, offered
    in all) on the left axis, and their average wait as a line on the right axis (seconds)."""

    frame: Frame
    bars: tuple[Bar, ...]  # kind: answered | abandoned | waiting; label: "08:15"
    waits: tuple[Point, ...]  # label "08:15", value the average wait in seconds

    @property
    def path(self) -> str:
        return path_of(self.waits)


def interval_chart(
    intervals: Sequence[Interval], zone: tzinfo, *, width: int = 600, height: int = 200
) -> IntervalChart:
    """The quarter hours from the hour of the day's first offered call (the empty night is
    left out) to the end of the last one, hours labelled in the operator's zone."""
    busy = [i for i in intervals if i.offered] or list(intervals[-1:])
    # In UTC from here on: an aware local time plus an hour is wall-clock arithmetic, wrong
    # across a change of clocks.
    if busy:
        start = busy[0].start.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    else:
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    shown = [i for i in intervals if i.start >= start]
    last_end = shown[-1].start + QUARTER if shown else start
    hours = max(math.ceil((last_end - start) / timedelta(hours=1)), 1)
    box = left, top, right, bottom = _frame(width, height, right_axis=True)
    slot = (right - left) / (hours * 4)
    calls = nice_ticks(0, max([i.offered for i in shown] + [1]), 4, whole=True)
    waits = [i.avg_wait_s for i in shown if i.avg_wait_s is not None]
    seconds = nice_ticks(0, max([*waits, 10.0]), 4, whole=True)
    calls_scale = Scale(0, calls[-1], bottom, top)
    wait_scale = Scale(0, seconds[-1], bottom, top)
    bars: list[Bar] = []
    points: list[Point] = []
    for interval in shown:
        n = round((interval.start - start) / QUARTER)
        x = left + n * slot
        label = interval.start.astimezone(zone).strftime("%H:%M")
        waiting = max(interval.offered - interval.answered - interval.abandoned, 0)
        parts = {"answered": interval.answered, "abandoned": interval.abandoned, "waiting": waiting}
        bars += _stack(calls_scale, round(x + slot * 0.1, 1), round(slot * 0.8, 1), label, parts)
        wait = interval.avg_wait_s
        y = wait_scale.y(wait) if wait is not None else bottom
        points.append(Point(round(x + slot / 2, 1), y, label, wait))
    every = next(n for n in (1, 2, 3, 4, 6) if hours / n <= 12)
    x_ticks = tuple(
        Tick(round(left + h * 4 * slot, 1), (start + timedelta(hours=h)).astimezone(zone).strftime("%H:%M"))
        for h in range(0, hours + 1, every)
    )
    frame = Frame(width, height, *box, calls_scale.ticks(calls), x_ticks, wait_scale.ticks(seconds))
    return IntervalChart(frame, tuple(bars), tuple(points))
