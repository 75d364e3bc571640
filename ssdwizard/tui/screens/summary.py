"""The last screen: every step's status, the changes applied in this run, undo, and the export.

The export field has the focus when the summary opens, and while it has it no letter is a
command (see screens/base.py): a file name is typed, Enter writes it. The file is written by
the app, in a worker; this screen only shows how it went.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Static

from ssdwizard.tui.messages import ExportFinished, ProbeCompleted, UndoFinished
from ssdwizard.tui.navigation import SUMMARY
from ssdwizard.tui.screens.base import WizardScreen, wizard_footer, wizard_header
from ssdwizard.tui.widgets.facts import FittedTable
from ssdwizard.tui.widgets.status import safe_text
from ssdwizard.steps import STEPS


class ExportInput(Input):
    """The export file name. Esc leaves the field (to the buttons), as Tab does."""

    BINDINGS = [Binding("escape", "leave", "Leave the field", id="leave-field")]

    def action_leave(self) -> None:
        self.screen.focus_next()


class SummaryScreen(WizardScreen):
    BINDINGS = [
        Binding("p,left,escape", "back", "Back", id="back"),
        Binding("u", "undo", "Undo last change", id="undo"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.position = SUMMARY

    def compose(self) -> ComposeResult:
        yield wizard_header(self.app)
        with VerticalScroll(id="step-body"):
            yield Static("Summary", classes="step-title")
            yield FittedTable(id="summary-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="export"):
                yield Static("Export the report: type a file name, Enter writes it (.json as JSON, else Markdown)",
                             classes="facts-title")
                yield ExportInput(placeholder="file name, e.g. /root/ssdwizard-report.md", id="export-path")
                yield Static("", id="export-status")
                with Horizontal(classes="actions"):
                    yield Button("Markdown", id="export-markdown")
                    yield Button("JSON", id="export-json")
                    yield Button("Undo last change", id="undo", variant="warning")
                    yield Button("Back", id="back")
                    yield Button("Quit", id="quit", variant="primary")
            yield Static(id="applied")
        yield wizard_footer()

    def on_mount(self) -> None:
        table = self.query_one("#summary-table", DataTable)
        table.add_columns("#", "step", "status", "you", "summary")
        self._show()
        self.query_one("#export-path", Input).focus()

    def _show(self) -> None:
        """The table and the changes as they stand: after an undo every step is probed again."""
        glyphs, app = self.glyphs, self.wizard
        table = self.query_one("#summary-table", DataTable)
        table.clear()
        for number, step in enumerate(STEPS, 1):
            result = app.results.get(step.id)
            status = glyphs.mark(result.status) if result else f"{glyphs.ellipsis} probing"
            summary = safe_text(result.summary if result else "", one_line=True, glyphs=glyphs)
            table.add_row(str(number), step.title, status, self._yours(step.id), summary)
        self.query_one("#applied", Static).update(self._applied_text())
        self.query_one("#undo", Button).display = app.last_undoable() is not None
        self.refresh_bindings()

    def _yours(self, step_id: str) -> str:
        """What you did with the step in this run."""
        changes = [c for c in self.wizard.applied if c.step_id == step_id]
        if changes and not all(c.undone for c in changes):
            return "applied"
        if changes:
            return "undone"
        return "skipped by you" if step_id in self.wizard.skipped else ""

    def _applied_text(self) -> Text:
        app = self.wizard
        if not app.applied:
            return Text("No changes were applied in this run.")
        lines = ["Changes applied in this run (undo goes back from the last; u undoes it here):"]
        for change in app.applied:
            if change.undone:
                lines.append(f"  {change.step_id}: undone")
            else:
                lines.append(f"  {change.step_id}: undo with `{app.undo_command(change.journal_id)}`")
            lines += [f"    - {line}" for line in change.lines]
        return safe_text("\n".join(lines), glyphs=self.glyphs)

    def on_probe_completed(self, message: ProbeCompleted) -> None:
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._export(None)

    @on(Button.Pressed, "#export-markdown")
    def _markdown_pressed(self) -> None:
        self._export("markdown")

    @on(Button.Pressed, "#export-json")
    def _json_pressed(self) -> None:
        self._export("json")

    @on(Button.Pressed, "#undo")
    def _undo_pressed(self) -> None:
        self.action_undo()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#quit")
    async def _quit_pressed(self) -> None:
        await self.wizard.action_quit()

    def _export(self, fmt: str | None) -> None:
        name = self.query_one("#export-path", Input).value.strip()
        if not name:
            self._status("Type a file name first.")
            return
        self._status(f"Writing {name}{self.glyphs.ellipsis}")
        self.wizard.export_report(name, fmt)

    def _status(self, text: str) -> None:
        self.query_one("#export-status", Static).update(safe_text(text, glyphs=self.glyphs))

    def on_export_finished(self, message: ExportFinished) -> None:
        name = "JSON" if message.fmt == "json" else "Markdown"
        if message.error is None:
            self._status(f"Wrote the {name} report to {message.path}.")
        else:
            self._status(f"Could not write {message.path}: {message.error}")

    def allows(self, action: str, parameters: tuple[object, ...] = ()) -> bool | None:
        if action == "undo":
            return self.wizard.last_undoable() is not None and not self.wizard.applying
        return True

    def action_undo(self) -> None:
        change = self.wizard.last_undoable()
        if change is not None and self.wizard.start_undo():
            self._status(f"Undoing the {change.step_id} change{self.glyphs.ellipsis}")

    def on_undo_finished(self, message: UndoFinished) -> None:
        if message.error is None:
            self._status("Undone: " + ("; ".join(message.lines) or "nothing was left to put back") + ".")
        else:
            self._status(f"Not undone: {message.error}")
        self._show()

    def action_back(self) -> None:
        self.wizard.show_step(len(STEPS) - 1)
