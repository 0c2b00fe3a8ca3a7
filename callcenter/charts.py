"""Chart geometry for server-rendered SVG (no JavaScript, no CDN: the console runs offline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float | None


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        drawn = [p for p in self.points if p.value is not None]
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(drawn))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    kind: str


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    low: float,
    high: float,
    width: float = 640,
    height: float = 220,
    pad: float = 32,
) -> list[Line]:
    step = (width - 2 * pad) / max(len(labels) - 1, 1)
    span = (high - low) or 1

    def y_of(value: float) -> float:
        return height - pad - (min(max(value, low), high) - low) / span * (height - 2 * pad)

    return [
        Line(
            name,
            tuple(
                Point(pad + i * step, y_of(v) if v is not None else height - pad, labels[i], v)
                for i, v in enumerate(values)
            ),
        )
        for name, values in series.items()
    ]


def stacked_bars(
    labels: Sequence[str],
    stacks: dict[str, Sequence[int]],
    *,
    width: float = 640,
    height: float = 220,
    pad: float = 32,
) -> list[Bar]:
    totals = [sum(stack[i] for stack in stacks.values()) for i in range(len(labels))]
    top = max([*totals, 1])
    slot = (width - 2 * pad) / max(len(labels), 1)
    bars: list[Bar] = []
    for i, label in enumerate(labels):
        base = height - pad
        for kind, values in stacks.items():
            h = values[i] / top * (height - 2 * pad)
            bars.append(Bar(pad + i * slot + slot * 0.15, base - h, slot * 0.7, h, label, values[i], kind))
            base -= h
    return bars
