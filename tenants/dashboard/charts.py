"""Chart geometry for server-rendered SVG (no script, nothing but attributes: fits the CSP).

Every count of 1 to 4 people is suppressed (PRODUCT.md: aggregates below 5 people are not
shown): ``shown`` turns it into None, a suppressed bar is not drawn and its data cell says so.
Zero identifies nobody and is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

THRESHOLD = 5
# viewBox units: the SVG scales to its container (width 100%).
WIDTH = 640
LABEL_WIDTH = 220
VALUE_WIDTH = 70
BAR_HEIGHT = 22
BAR_GAP = 10


def shown(count: int) -> int | None:
    """The count, or None when it is 1 to 4 people."""
    return None if 0 < count < THRESHOLD else count


@dataclass(frozen=True)
class BarRow:
    label: str
    value: int | None  # None: suppressed
    y: int
    width: int  # of the bar, 0 when suppressed or zero


@dataclass(frozen=True)
class BarChart:
    rows: list[BarRow]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def any_shown(self) -> bool:
        return any(row.value for row in self.rows)


def bar_chart(items: list[tuple[str, int]], *, suppress: bool = True) -> BarChart:
    """Horizontal bars scaled to the largest shown count; ``suppress=False`` for a
    distribution shown whole once its total reaches the threshold (ratings, as everywhere)."""
    values: list[int | None] = [shown(count) if suppress else count for _label, count in items]
    largest = max([v for v in values if v] or [1])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    rows = [BarRow(label=label, value=value, y=i * (BAR_HEIGHT + BAR_GAP),
                   width=round(span * value / largest) if value else 0)
            for i, ((label, _count), value) in enumerate(zip(items, values, strict=True))]
    return BarChart(rows=rows, height=max(len(rows) * (BAR_HEIGHT + BAR_GAP), BAR_HEIGHT))


@dataclass(frozen=True)
class Point:
    day: date
    total: int | None  # cumulative; None: suppressed (1 to 4)
    x: float
    y: float


@dataclass(frozen=True)
class LineChart:
    points: list[Point]  # every day, for the data table
    polyline: str  # "x,y x,y …" of the shown points
    area: str  # the same, closed along the axis
    top: int  # the y axis' largest value
    width: int = WIDTH
    height: int = 220
    left: int = 50
    bottom: int = 190  # y of the x axis


def line_chart(days: list[tuple[date, int]]) -> LineChart:
    """Cumulative counts per day as a line; points of 1 to 4 are left out of the line."""
    chart = LineChart(points=[], polyline="", area="", top=0)
    if not days:
        return chart
    top = max(max(total for _day, total in days), THRESHOLD)
    plot_width = chart.width - chart.left - 10
    plot_height = chart.bottom - 20
    step = plot_width / max(len(days) - 1, 1)
    points = [Point(day=day, total=shown(total), x=round(chart.left + i * step, 1),
                    y=round(chart.bottom - plot_height * total / top, 1))
              for i, (day, total) in enumerate(days)]
    drawn = [p for p in points if p.total is not None and p.total > 0]
    line = " ".join(f"{p.x},{p.y}" for p in drawn)
    area = (f"{drawn[0].x},{chart.bottom} {line} {drawn[-1].x},{chart.bottom}"
            if len(drawn) > 1 else "")
    return LineChart(points=points, polyline=line if len(drawn) > 1 else "", area=area, top=top)
