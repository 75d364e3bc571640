"""The last screen: every step's status, the changes applied in this run, and the export."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Static

from ssdwizard.report import RENDERERS
from ssdwizard.screens.widgets import mark, safe_text
from ssdwizard.steps import STEPS


class SummaryScreen(Screen[None]):
    BINDINGS = [Binding("p,left", "back", "Back", id="back"), Binding("q", "app.quit", "Quit", id="quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="step-body"):
            yield Static("Summary", classes="step-title")
            yield DataTable(id="summary-table", cursor_type="row", zebra_stripes=True)
            yield Static(self._applied_text(), id="applied")
            with Vertical(id="export"):
                yield Static("Export the report", classes="facts-title")
                yield Input(placeholder="file name, e.g. /root/ssdwizard-report.md", id="export-path")
                with Horizontal(classes="actions"):
                    yield Button("Markdown", id="export-markdown")
                    yield Button("JSON", id="export-json")
                    yield Button("Back", id="back")
                    yield Button("Quit", id="quit", variant="primary")
                yield Static("", id="export-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#summary-table", DataTable)
        table.add_columns("#", "step", "status", "summary")
        results = self.app.results  # type: ignore[attr-defined]
        for number, step in enumerate(STEPS, 1):
            result = results.get(step.id)
            table.add_row(str(number), step.title, mark(result.status) if result else "… probing",
                          safe_text(result.summary if result else "", one_line=True))

    def _applied_text(self) -> Text:
        applied = self.app.applied  # type: ignore[attr-defined]
        if not applied:
            return Text("No changes were applied in this run.")
        lines = ["Changes applied in this run:"]
        for change in applied:
            lines.append(f"  {change.step_id}: undo with `ssdwizard --undo {change.journal_id}`")
            lines += [f"    - {line}" for line in change.lines]
        return safe_text("\n".join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("export-markdown", "export-json"):
            self._export("markdown" if event.button.id == "export-markdown" else "json")
        elif event.button.id == "back":
            self.action_back()
        else:
            self.app.exit()

    def _export(self, fmt: str) -> None:
        status = self.query_one("#export-status", Static)
        name = self.query_one("#export-path", Input).value.strip()
        if not name:
            status.update("Type a file name first.")
            return
        text = RENDERERS[fmt](self.app.report())  # type: ignore[attr-defined]
        try:
            Path(name).expanduser().write_text(text, encoding="utf-8")
        except OSError as exc:
            status.update(f"Could not write {name}: {exc.strerror or exc}")
            return
        status.update(f"Wrote the {fmt} report to {name}.")

    def action_back(self) -> None:
        self.app.show_step(len(STEPS) - 1)  # type: ignore[attr-defined]
