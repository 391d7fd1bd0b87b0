"""Bar charts for the report, as geometry the template draws in inline SVG: the page needs no
script or library to show them, and every label passes through the template's escaping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 190
PLOT_WIDTH = 320
VALUE_WIDTH = 60


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str
    y: float  # top of the bar
    width: float
    css: str  # a class name for the colour


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def value_x(self) -> float:
        return self.label_width + PLOT_WIDTH + 6


def css_name(text: str) -> str:
    """A class name from a label: ASCII letters, digits and dashes only."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in text.lower())
    return cleaned.strip("-") or "other"


def bar_chart(title: str, items: Sequence[tuple[str, float]], css_prefix: str = "bar") -> BarChart:
    """Horizontal bars scaled to the largest value (a chart of zeros draws empty bars)."""
    top = max((value for _, value in items), default=0) or 1
    bars = tuple(Bar(label, value, f"{value:g}", GAP + k * (BAR_HEIGHT + GAP), PLOT_WIDTH * value / top,
                     f"{css_prefix}-{css_name(label)}")
                 for k, (label, value) in enumerate(items))
    height = GAP + len(bars) * (BAR_HEIGHT + GAP)
    return BarChart(title, bars, LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH, height)
