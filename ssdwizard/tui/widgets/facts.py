"""A step's facts on the screen: tables for lists of records, lines for the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ssdwizard.textsafe import visible
from ssdwizard.tui.glyphs import UNICODE, Glyphs
from ssdwizard.tui.widgets.status import safe_text


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
