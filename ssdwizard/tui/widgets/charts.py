"""Pictures drawn with characters: horizontal bars and a sparkline (blocks, or ASCII on a console)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ssdwizard.tui.widgets.status import glyphs_of


class Bars(Static):
    """Horizontal bars: a picture where a person would rather look than read."""

    WIDTH = 30

    def __init__(self, rows: Sequence[tuple[str, float | None, str]], scale: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows
        self.scale = scale

    def render(self) -> Text:
        top = self.scale or max((v for _, v, _ in self.rows if v), default=1.0) or 1.0
        label_width = max((len(label) for label, _, _ in self.rows), default=0)
        glyphs = glyphs_of(self)
        text = Text()
        for label, value, shown in self.rows:
            filled = 0 if value is None else round(self.WIDTH * min(value, top) / top)
            text.append(f"{label.ljust(label_width)} ")
            text.append(glyphs.bar_full * filled, style="bold")
            text.append(glyphs.bar_empty * (self.WIDTH - filled), style="dim")
            text.append(f" {glyphs.text(shown)}\n")
        return text


class TextSparkline(Static):
    """A sparkline of characters (``_.-=+*#@`` on a console): one column per value, or the
    largest of each bin when there are more values than columns."""

    def __init__(self, data: Sequence[float], spark: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = list(data)
        self.spark = spark

    def render(self) -> Text:
        width = max(1, self.size.width)
        data = self.data
        if len(data) > width:
            step = len(data) / width
            data = [max(self.data[int(i * step):max(int(i * step) + 1, int((i + 1) * step))]) for i in range(width)]
        top = max(data, default=0) or 1
        levels = len(self.spark) - 1
        return Text("".join(self.spark[round(levels * max(0.0, v) / top)] for v in data), style="bold")
