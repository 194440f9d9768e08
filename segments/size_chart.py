"""A segment's size history as a small SVG line chart, drawn on the server (no chart library,
no JavaScript): the template only places the numbers computed here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 600, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 12, 12, 28


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    size: int
    counted_at: datetime
    source: str


@dataclass(frozen=True)
class SizeChart:
    points: list[ChartPoint]
    path: str  # the polyline's "x,y x,y …"
    low: int
    high: int
    first: ChartPoint
    last: ChartPoint
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    right: int = WIDTH - PAD_RIGHT
    top: int = PAD_TOP
    bottom: int = HEIGHT - PAD_BOTTOM

    @property
    def summary(self) -> str:
        """What the chart shows, for a screen reader (the SVG's label)."""
        if len(self.points) == 1:
            return f"One count: {self.first.size:,} on {self.first.counted_at:%-d %b %Y}."
        return (
            f"{len(self.points)} counts, from {self.first.size:,} on "
            f"{self.first.counted_at:%-d %b %Y} to {self.last.size:,} on "
            f"{self.last.counted_at:%-d %b %Y}; lowest {self.low:,}, highest {self.high:,}."
        )


def size_chart(points: list[tuple[int, datetime, str]]) -> SizeChart | None:
    """The chart of (size, counted at, source) points in time order; None without points."""
    if not points:
        return None
    sizes = [size for size, _at, _source in points]
    low, high = min(sizes), max(sizes)
    start, end = points[0][1], points[-1][1]
    span = (end - start).total_seconds() or 1.0
    spread = (high - low) or max(1, high)
    floor = low if high != low else max(0, low - spread // 2)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    chart_points = []
    for size, at, source in points:
        x = PAD_LEFT + (plot_w * (at - start).total_seconds() / span if len(points) > 1 else plot_w)
        y = PAD_TOP + plot_h * (1 - (size - floor) / spread)
        chart_points.append(ChartPoint(round(x, 1), round(y, 1), size, at, source))
    path = " ".join(f"{p.x},{p.y}" for p in chart_points)
    return SizeChart(
        points=chart_points,
        path=path,
        low=low,
        high=high,
        first=chart_points[0],
        last=chart_points[-1],
    )
