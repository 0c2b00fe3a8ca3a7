"""Charts have axes with round values, and the dashboard's chart of today reads in the
operator's hours."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from callcenter.charts import bar_chart, interval_chart, line_chart, nice_ticks
from handlers.live_report import Interval
from templates import render

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, st.integers(min_value=2, max_value=10), st.booleans())
def test_ticks_are_round_evenly_spaced_and_cover_the_range(
    a: float, b: float, most: int, whole: bool
) -> None:
    low, high = min(a, b), max(a, b)
    # Ranges narrower than a millionth of their size are not charts we draw.
    assume(high == low or high - low > 1e-6 * max(abs(low), abs(high)))
    ticks = nice_ticks(low, high, most, whole=whole)
    assert 2 <= len(ticks) <= most + 1
    step = ticks[1] - ticks[0]
    # Covered, but for a rounding hair (0.1 × 3 is 0.30000000000000004).
    assert ticks[0] <= low + step * 1e-6
    assert ticks[-1] >= high - step * 1e-6
    assert all(math.isclose(y - x, step, rel_tol=1e-6) for x, y in itertools.pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5))
    if whole:
        assert step >= 1
        assert all(t == int(t) for t in ticks)


def test_ticks_the_pages_use() -> None:
    assert nice_ticks(1, 5) == [1, 2, 3, 4, 5]
    assert nice_ticks(-100, 100) == [-100, -50, 0, 50, 100]
    assert nice_ticks(0, 7, 4, whole=True) == [0, 2, 4, 6, 8]
    assert nice_ticks(0, 1, 4, whole=True) == [0, 1]
    assert nice_ticks(0, 0.37) == [0, 0.1, 0.2, 0.3, 0.4]


def test_a_line_chart_places_values_and_its_target_on_the_value_axis() -> None:
    chart = line_chart(["a", "b", "c"], [5, None, 1], low=1, high=5, target=4)
    by_label = {t.label: t.at for t in chart.frame.y_ticks}
    assert [p.y for p in chart.points if p.value is not None] == [by_label["5"], by_label["1"]]
    assert chart.target == by_label["4"]
    assert chart.path.count("M") == 2  # a missing week breaks the line


def test_stacked_bars_reach_their_totals_on_the_count_axis() -> None:
    chart = bar_chart(["x", "y"], {"within": [3, 0], "overdue": [4, 0]})
    assert [t.label for t in chart.frame.y_ticks] == ["0", "2", "4", "6", "8"]
    seven = chart.frame.bottom - (chart.frame.bottom - chart.frame.top) * 7 / 8
    assert min(b.y for b in chart.bars) == round(seven, 1)
    assert [(b.kind, b.value) for b in chart.bars] == [("within", 3), ("overdue", 4)]
    assert [t.value for t in chart.totals] == [7, 0]


SHANGHAI = ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2026, 11, 26, tzinfo=SHANGHAI).astimezone(UTC)


def _today() -> list[Interval]:
    """Quarter hours from midnight to 10:30 in Shanghai; calls from 08:15."""
    quiet = [Interval(MIDNIGHT + timedelta(minutes=15 * n), 0, 0, 0, None) for n in range(33)]
    busy = [
        Interval(MIDNIGHT + timedelta(hours=8, minutes=15), 6, 5, 1, 12.0),
        Interval(MIDNIGHT + timedelta(hours=8, minutes=30), 9, 6, 1, 75.4),  # two still waiting
        Interval(MIDNIGHT + timedelta(hours=8, minutes=45), 0, 0, 0, None),
        *(Interval(MIDNIGHT + timedelta(hours=9, minutes=15 * n), 2, 2, 0, 5.0) for n in range(6)),
    ]
    return quiet[:-1] + busy


def test_the_interval_chart_renders_axes_with_values_in_the_operators_hours() -> None:
    chart = interval_chart(_today(), SHANGHAI)
    html = render("console/interval_chart.html.j2", language="en", interval_chart=chart)
    # The night without calls is left out: the hours start at the first call's hour.
    hours = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', html)
    assert hours == ["08:00", "09:00", "10:00", "11:00"]
    calls = [t.label for t in chart.frame.y_ticks]
    assert calls == ["0", "5", "10"]
    for label in calls:
        assert f'text-anchor="end">{label}</text>' in html
    seconds = [t.label for t in chart.frame.y2_ticks]
    assert seconds == ["0", "20", "40", "60", "80"]
    for label in seconds:
        assert f">{label}</text>" in html
    assert "Calls" in html
    assert "Wait (s)" in html
    assert "08:30: 6 answered" in html
    assert "08:30: 2 still waiting" in html
    assert "08:30: average wait 75 s" in html
    # 08:45 had no calls: the wait line breaks there.
    assert chart.path.count("M") == 2


def test_the_interval_chart_reads_in_chinese() -> None:
    html = render(
        "console/interval_chart.html.j2", language="zh", interval_chart=interval_chart(_today(), SHANGHAI)
    )
    assert "Wait (s)" not in html
    assert "Calls" not in html


def test_hours_follow_the_operators_clock_across_a_change_of_clocks() -> None:
    new_york = ZoneInfo("America/New_York")
    midnight = datetime(2026, 11, 1, tzinfo=new_york).astimezone(UTC)  # clocks go back at 02:00
    day = [Interval(midnight + timedelta(minutes=15 * n), 1, 1, 0, 3.0) for n in range(16)]
    labels = [t.label for t in interval_chart(day, new_york).frame.x_ticks]
    assert labels == ["00:00", "01:00", "01:00", "02:00", "03:00"]
