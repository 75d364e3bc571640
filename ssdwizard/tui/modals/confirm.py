"""The confirm dialog: the plan's diff, coloured, with its warnings; Apply or Cancel."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ssdwizard.apply.plan import Plan
from ssdwizard.tui.glyphs import UNICODE, Glyphs
from ssdwizard.tui.widgets.status import safe_text
from ssdwizard.model import Status
from ssdwizard.textsafe import visible


def coloured_diff(diff: str, glyphs: Glyphs = UNICODE) -> Text:
    """The diff with its lines coloured; escape sequences from the file written out, so that a
    line cannot clear the dialog or pose as another line."""
    text = Text()
    for line in glyphs.text(visible(diff)).splitlines():
        style = ("green" if line.startswith("+") and not line.startswith("+++") else
                 "red" if line.startswith("-") and not line.startswith("---") else
                 "cyan" if line.startswith("@@") else "bold" if line.startswith(("---", "+++", "$")) else "")
        text.append(line + "\n", style=style)
    return text


class ConfirmApplyModal(ModalScreen[bool]):
    """Returns True to apply the plan, False to leave everything as it is."""

    BINDINGS = [Binding("escape,n", "cancel", "Cancel", id="cancel"), Binding("y", "apply", "Apply", id="apply")]

    def __init__(self, title: str, plan: Plan, glyphs: Glyphs = UNICODE) -> None:
        super().__init__()
        self.title_text = title
        self.plan = plan
        self.glyphs = glyphs

    def compose(self) -> ComposeResult:
        glyphs = self.glyphs
        with Vertical(id="confirm"):
            count = len(self.plan.changes)
            yield Static(f"Apply {count} change{'s' if count != 1 else ''}: {self.title_text}", id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                for warning in self.plan.warnings:
                    yield Static(safe_text(f"{glyphs.marks[Status.WARN]} {warning}", glyphs=glyphs), classes="warning")
                for change in self.plan.changes:
                    why = f"{change.kind} {change.target}: {change.why}"
                    yield Static(safe_text(why, one_line=True, glyphs=glyphs), classes="change-why")
                    yield Static(coloured_diff(change.diff(), glyphs), classes="diff")
                for note in self.plan.notes:
                    yield Static(safe_text(f"{glyphs.bullet} {note}", glyphs=glyphs), classes="note")
            # Not "ssdwizard --undo": on a replayed profile (the demo's copy) that would undo this
            # machine's last change. The exact command is shown once the change is made.
            yield Static("Every file is backed up first. Undo puts it back: u on the summary, or the "
                         "command shown after the change.", classes="hint")
            with Horizontal(classes="actions"):
                yield Button("Apply", id="apply", variant="warning")
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # the safe choice has the focus

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)

    def action_apply(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
