"""Small widgets the step screens share: the status banner, findings, facts as tables, bars."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, DataTable, Static

from ssdwizard.steps.base import Finding, Status, StepResult
from ssdwizard.textsafe import visible

# A symbol with every colour, so that a monochrome console keeps the meaning.
MARKS = {Status.OK: "✔", Status.SKIP: "○", Status.WARN: "⚠", Status.FAIL: "✖", Status.ERROR: "‼"}
WORDS = {Status.OK: "OK", Status.SKIP: "SKIPPED", Status.WARN: "WARNING", Status.FAIL: "FAILED", Status.ERROR: "ERROR"}


def mark(status: Status) -> str:
    return f"{MARKS[status]} {status.value}"


def safe_text(text: str, one_line: bool = False) -> Text:
    """Text from the machine as it is shown: a Text, not markup (``[client]`` stays), with escape
    sequences written out (Textual passes ESC, CSI and bidi overrides on to the terminal)."""
    return Text(visible(text, one_line=one_line))


class StatusBanner(Static):
    """The step's verdict in one line, coloured by status class and marked by symbol."""

    def show(self, result: StepResult | None) -> None:
        for status in Status:
            self.remove_class(f"-{status.value}")
        if result is None:
            self.update("… probing")
            return
        self.add_class(f"-{result.status.value}")
        # Text, not str: a summary like "in [client]" must not be read as markup.
        self.update(safe_text(f"{MARKS[result.status]} {WORDS[result.status]}: {result.summary}"))


def finding_widget(finding: Finding, index: int) -> Collapsible:
    """A finding: its message as the title; its advice and evidence lines inside."""
    body: list[Static] = []
    if finding.advice:
        body.append(Static(safe_text("→ " + finding.advice), classes="advice"))
    for evidence in finding.evidence:
        lines = evidence.excerpt.strip()
        body.append(Static(safe_text(f"[{evidence.source}]" + (f"\n{lines}" if lines else "")), classes="evidence"))
    # Titles are markup: escape, or "[client]" in a message would vanish as a tag.
    title = escape(visible(f"{MARKS[finding.status]} {finding.subject}: {finding.message}", one_line=True))
    # No id: a re-probe replaces the findings while the old ones are still being removed.
    collapsible = Collapsible(*body, title=title, collapsed=finding.status in (Status.OK, Status.SKIP),
                              classes=f"finding-{index}")
    collapsible.add_class(f"-{finding.status.value}")
    return collapsible


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def facts_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, id: str | None = None) -> DataTable:
    """A list of fact records as a table: one row per record (disk, mount, VM, task)."""
    table: DataTable = DataTable(id=id, zebra_stripes=True, cursor_type="row", show_cursor=False)
    keys = list(columns or (rows[0].keys() if rows else []))
    table.add_columns(*keys)
    for row in rows:
        table.add_row(*(safe_text(_cell(row.get(k)), one_line=True) for k in keys))  # Text: cells are not markup
    return table


class FactsView(Vertical):
    """A step's facts in the form that suits them: tables for lists of records, lines for the rest."""

    def __init__(self, facts: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.facts = facts

    def compose(self) -> ComposeResult:
        scalars = {k: v for k, v in self.facts.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
        for key, value in self.facts.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                yield Static(key, classes="facts-title")
                yield facts_table(value, id=None)
        if scalars:
            yield Static(Text("\n".join(visible(f"{k}: {_cell(v)}", one_line=True) for k, v in scalars.items())),
                         classes="facts-scalars")


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
        text = Text()
        for label, value, shown in self.rows:
            filled = 0 if value is None else round(self.WIDTH * min(value, top) / top)
            text.append(f"{label.ljust(label_width)} ")
            text.append("█" * filled, style="bold")
            text.append("░" * (self.WIDTH - filled), style="dim")
            text.append(f" {shown}\n")
        return text
