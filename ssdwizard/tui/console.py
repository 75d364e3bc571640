"""Console mode: the wizard on the Linux console, a serial line or a C locale.

Loaded only in console mode. What changes there (the rest is in wizard.tcss under ``.-console``):

* scrollbars: whole-cell ``#`` thumbs, no ▁▂▃ partial blocks (:class:`AsciiScrollBarRender`);
* progress bars: ``#`` on ``-`` instead of ━ ╸ ╺ (:class:`AsciiBar`);
* key names in the footer: ``Enter``, ``Left``, ``Esc`` instead of ⏎ ← (:func:`key_name`);
* a last-resort line filter (:class:`AsciiFilter`) that folds whatever non-ASCII is still on a
  line (a Textual widget's own glyph, a character from the machine) to ASCII of the same width,
  so that the console never gets a character its font lacks.
"""

from __future__ import annotations

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment, Segments
from rich.style import Style, StyleType
from rich.text import Text
from textual.color import Color as TextualColor
from textual.filter import LineFilter
from textual.renderables.bar import Bar
from textual.scrollbar import ScrollBarRender

from ssdwizard.tui.glyphs import fold

KEY_NAMES = {
    "enter": "Enter", "escape": "Esc", "left": "Left", "right": "Right", "up": "Up", "down": "Down",
    "space": "Space", "tab": "Tab", "backspace": "BkSp", "delete": "Del", "home": "Home", "end": "End",
    "pageup": "PgUp", "pagedown": "PgDn", "question_mark": "?", "f1": "F1",
}


def key_name(key: str) -> str | None:
    """An ASCII name for a key whose usual display is a symbol, else None."""
    return KEY_NAMES.get(key)


class AsciiScrollBarRender(ScrollBarRender):
    """A scrollbar of whole cells: ``#`` for the thumb on a blank track, as dialog draws it.
    The mouse still grabs and pages it: the same style meta as Textual's own renderer."""

    THUMB_GLYPH = "#"

    @classmethod
    def render_bar(cls, size: int = 25, virtual_size: float = 50, window_size: float = 20, position: float = 0,
                   thickness: int = 1, vertical: bool = True, back_color: Color = Color.parse("#555555"),
                   bar_color: Color = Color.parse("bright_magenta")) -> Segments:
        width = thickness if vertical else 1
        track_up = Segment(" " * width, Style(bgcolor=back_color, meta={"@mouse.down": "scroll_up"}))
        track_down = Segment(" " * width, Style(bgcolor=back_color, meta={"@mouse.down": "scroll_down"}))
        size = int(size)
        if window_size and size and virtual_size and size != virtual_size and virtual_size > window_size:
            thumb = min(size, max(1, round(size * window_size / virtual_size)))
            travel = size - thumb
            start = min(travel, max(0, round(travel * position / (virtual_size - window_size))))
            grip = Segment(cls.THUMB_GLYPH * width,
                           Style(color=bar_color, bgcolor=back_color, bold=True, meta={"@mouse.down": "grab"}))
            segments = [track_up] * start + [grip] * thumb + [track_down] * (size - start - thumb)
        else:
            segments = [Segment(" " * width, Style(bgcolor=back_color))] * size
        if vertical:
            return Segments(segments, new_lines=True)
        return Segments((segments + [Segment.line()]) * thickness, new_lines=False)


class AsciiBar(Bar):
    """A progress bar of ``#`` (done) on ``-`` (to do)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width or options.max_width
        start, end = (max(0, min(width, round(v))) for v in self.highlight_range)
        highlight: StyleType = console.get_style(self.highlight_style)
        background: StyleType = console.get_style(self.background_style)
        bar = Text(end="")
        bar.append("-" * start, style=background)
        bar.append("#" * max(0, end - start), style=highlight)
        bar.append("-" * max(0, width - max(start, end)), style=background)
        yield bar


class AsciiFilter(LineFilter):
    """Folds every non-ASCII character still on a line to ASCII of the same cell width."""

    def apply(self, segments: list[Segment], background: TextualColor) -> list[Segment]:
        return [segment if segment.text.isascii() else Segment(fold(segment.text, keep_width=True), segment.style,
                                                               segment.control)
                for segment in segments]

