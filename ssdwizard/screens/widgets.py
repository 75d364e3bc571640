"""Small widgets the step screens share: the status banner, findings, facts as tables, bars.

What they draw comes from a :class:`~ssdwizard.screens.glyphs.Glyphs`: Unicode marks and blocks
on a modern terminal, ASCII on a console (the app's ``glyphs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, DataTable, Static

from ssdwizard.screens.glyphs import UNICODE, WORDS, Glyphs
from ssdwizard.model import Finding, Status, StepResult
from ssdwizard.textsafe import visible

# A symbol with every colour, so that a monochrome console keeps the meaning.
MARKS = UNICODE.marks


def mark(status: Status, glyphs: Glyphs = UNICODE) -> str:
    return glyphs.mark(status)


def safe_text(text: str, one_line: bool = False, glyphs: Glyphs = UNICODE) -> Text:
    """Text from the machine as it is shown: a Text, not markup (``[client]`` stays), with escape
    sequences written out (Textual passes ESC, CSI and bidi overrides on to the terminal), and
    in ASCII on a console."""
    return Text(glyphs.text(visible(text, one_line=one_line)))


def _glyphs_of(widget: Static) -> Glyphs:
    return getattr(widget.app, "glyphs", UNICODE)


class StatusBanner(Static):
    """The step's verdict in one line, coloured by status class and marked by symbol."""

    def show(self, result: StepResult | None) -> None:
        for status in Status:
            self.remove_class(f"-{status.value}")
        glyphs = _glyphs_of(self)
        if result is None:
            self.update(f"{glyphs.ellipsis} probing")
            return
        self.add_class(f"-{result.status.value}")
        # Text, not str: a summary like "in [client]" must not be read as markup. The word is
        # there besides the colour and the mark: NO_COLOR and a console font keep the meaning.
        self.update(safe_text(f"{glyphs.marks[result.status]} {WORDS[result.status]}: {result.summary}", glyphs=glyphs))


def finding_widget(finding: Finding, index: int, glyphs: Glyphs = UNICODE) -> Collapsible:
    """A finding: its whole message as the title (wrapped, never cut); advice and evidence inside."""
    body: list[Static] = []
    if finding.advice:
        body.append(Static(safe_text(f"{glyphs.arrow} {finding.advice}", glyphs=glyphs), classes="advice"))
    for evidence in finding.evidence:
        lines = evidence.excerpt.strip()
        body.append(Static(safe_text(f"[{evidence.source}]" + (f"\n{lines}" if lines else ""), glyphs=glyphs),
                           classes="evidence"))
    # Titles are markup: escape, or "[client]" in a message would vanish as a tag.
    title = escape(glyphs.text(visible(f"{glyphs.marks[finding.status]} {finding.subject}: {finding.message}",
                                       one_line=True)))
    # No id: a re-probe replaces the findings while the old ones are still being removed.
    collapsible = Collapsible(*body, title=title, collapsed=finding.status in (Status.OK, Status.SKIP),
                              collapsed_symbol=glyphs.collapsed, expanded_symbol=glyphs.expanded,
                              classes=f"finding-{index}")
    collapsible.add_class(f"-{finding.status.value}")
    return collapsible


def _cell(value: Any, dash: str = UNICODE.dash) -> str:
    if value is None:
        return dash
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v, dash) for v in value) or dash
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v, dash)}" for k, v in value.items())
    return str(value)


class FittedTable(DataTable):
    """A DataTable whose rows fill its width after a resize too.

    DataTable caches a rendered row without its width and forgets the cache only when its Resize
    event arrives; Textual can paint the table at the new width before that, and then nothing
    paints it again, so the rows' background stopped one or two cells short of the edge (seen in
    the filesystem step's facts, one run in a few on Python 3.13). A repaint once the event has
    arrived draws the rows afresh.
    """

    def on_resize(self, event: events.Resize) -> None:
        self.refresh()


def facts_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, id: str | None = None,
                glyphs: Glyphs = UNICODE) -> DataTable:
    """A list of fact records as a table: one row per record (disk, mount, VM, task)."""
    table = FittedTable(id=id, zebra_stripes=True, cursor_type="row", show_cursor=False)
    keys = list(columns or (rows[0].keys() if rows else []))
    table.add_columns(*keys)
    for row in rows:  # Text: cells are not markup
        table.add_row(*(safe_text(_cell(row.get(k), glyphs.dash), one_line=True, glyphs=glyphs) for k in keys))
    return table


class FactsView(Vertical):
    """A step's facts in the form that suits them: tables for lists of records, lines for the rest."""

    def __init__(self, facts: dict[str, Any], glyphs: Glyphs = UNICODE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.facts = facts
        self.glyphs = glyphs

    def compose(self) -> ComposeResult:
        glyphs = self.glyphs
        scalars = {k: v for k, v in self.facts.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
        for key, value in self.facts.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                yield Static(key, classes="facts-title")
                yield facts_table(value, id=None, glyphs=glyphs)
        if scalars:
            lines = (glyphs.text(visible(f"{k}: {_cell(v, glyphs.dash)}", one_line=True)) for k, v in scalars.items())
            yield Static(Text("\n".join(lines)), classes="facts-scalars")


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
        glyphs = _glyphs_of(self)
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
