"""The overlays any screen can open: the help (F1, ?), the step list (l), the quit question, and
the notice that covers the wizard while the terminal is too small."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from ssdwizard.steps import STEPS
from ssdwizard.tui.navigation import DISK_CHOICE, MIN_SIZE, SUMMARY
from ssdwizard.tui.screens.base import wizard_of

if TYPE_CHECKING:
    from ssdwizard.tui.app import WizardApp

#: The keys, by where they work: what the help shows (and the README's wizard section).
HELP: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("F1  ?", "this help"),
        ("l", "the step list: every step with its status; Enter jumps to it"),
        ("ctrl+p", "the command palette: go to a step by name"),
        ("q", "quit (asks first when changes were applied in this run)"),
    )),
    ("Disk choice", (
        ("Up  Down", "move between the disks"),
        ("Space", "choose a disk or drop it"),
        ("i", "measure the disk's IOPS (read-only)"),
        ("Enter", "go on with the chosen disks (on a focused button: that button)"),
        ("Esc  p", "back to the welcome screen"),
    )),
    ("A step", (
        ("n  Right", "next step"),
        ("p  Left  Esc", "previous step"),
        ("a", "apply: shows the exact change first (only where the step has one)"),
        ("s", "skip: the summary says you skipped it"),
        ("t", "the TRIM read-back test (TRIM step)"),
        ("Tab", "findings, facts and buttons in turn; Enter opens a finding"),
        ("Up Down PgUp PgDn", "scroll the findings and facts"),
    )),
    ("Apply dialog", (
        ("y", "apply the change shown"),
        ("n  Esc", "cancel: nothing is changed"),
    )),
    ("Summary", (
        ("letters", "go into the export field (it has the focus): no letter acts as a command there"),
        ("Enter", "in the field: write the report, JSON for .json, else Markdown"),
        ("Esc  Tab", "leave the field"),
        ("u", "undo the last change of this run"),
        ("p  Esc", "back to the last step"),
    )),
)


def help_text(width: int = 62, keys_width: int = 14) -> Text:
    """The HELP table as text: keys in a column, what they do wrapped beside them (fits 80x24)."""
    import textwrap

    text = Text()
    for title, keys in HELP:
        text.append(f"{title}\n", style="bold")
        for key, what in keys:
            lines = textwrap.wrap(what, width - keys_width - 4)
            if len(key) > keys_width:  # a long key list gets a line of its own
                text.append(f"  {key}\n", style="bold")
                key = ""
            text.append(f"  {key.ljust(keys_width)}  ", style="bold")
            text.append("\n".join([lines[0], *(" " * (keys_width + 4) + line for line in lines[1:])]) + "\n")
        text.append("\n")
    text.rstrip()
    return text


class HelpModal(ModalScreen[None]):
    """The keys of every screen."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss(None)", "Close", id="close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static("Keys", id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(help_text(), id="help-text")
            with Horizontal(classes="actions"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.dismiss(None)


class StepListModal(ModalScreen["int | None"]):
    """Every step with its status, as the Debian installer's main menu: Enter jumps there.
    Returns the entry (DISK_CHOICE, a step index, SUMMARY) or None."""

    BINDINGS = [Binding("escape,l", "dismiss(None)", "Close", id="close")]

    def __init__(self, came_from: int | None = None) -> None:
        super().__init__()
        self.came_from = came_from

    @property
    def wizard(self) -> WizardApp:
        return wizard_of(self)

    def compose(self) -> ComposeResult:

        with Vertical(id="confirm"):
            yield Static("Steps: Enter goes to the step, Esc stays here", id="confirm-title")
            options = [Option(Text("Disk choice"), id=str(DISK_CHOICE))]
            options += [Option(self._line(index), id=str(index)) for index in range(len(STEPS))]
            options.append(Option(Text("Summary"), id=str(SUMMARY)))
            yield OptionList(*options, id="step-list")

    def _line(self, index: int) -> Text:
        app, step = self.wizard, STEPS[index]
        glyphs = app.glyphs
        result = app.results.get(step.id)
        status = glyphs.mark(result.status) if result else f"{glyphs.ellipsis} probing"
        notes = []
        if any(c.step_id == step.id and not c.undone for c in app.applied):
            notes.append("changed in this run")
        if step.id in app.skipped:
            notes.append("skipped by you")
        # Left-aligned numbers: the option list drops a line's leading blanks, so " 9." would
        # not line up with "10.".
        number = f"{index + 1}."
        return Text(f"{number.ljust(4)}{step.title.ljust(18)} {status.ljust(14)} {', '.join(notes)}".rstrip())

    def on_mount(self) -> None:
        option_list = self.query_one("#step-list", OptionList)
        if self.came_from is not None:
            option_list.highlighted = self.came_from + 1  # the list starts with the disk choice
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))


class QuitModal(ModalScreen[bool]):
    """Asks before quitting while a change is being applied, or when changes were applied."""

    BINDINGS = [Binding("escape,n", "dismiss(False)", "Stay", id="stay"),
                Binding("y,q", "dismiss(True)", "Quit", id="quit")]

    def __init__(self, applying: bool = True, changes: int = 0) -> None:
        super().__init__()
        self.applying = applying
        self.changes = changes

    def compose(self) -> ComposeResult:
        if self.applying:
            question = ("A change is being applied right now. Quit anyway? The apply finishes or rolls back "
                        "on its own; its journal keeps the originals.")
        else:
            count = f"{self.changes} change{'s were' if self.changes != 1 else ' was'}"
            question = (f"{count} applied in this run. Quit? The changes stay; the commands that undo them "
                        "are printed when the wizard has closed (or undo the last one on the summary: u).")
        with Vertical(id="confirm"):
            yield Static(question, id="confirm-title")
            with Horizontal(classes="actions"):
                yield Button("Quit", id="quit-yes", variant="error")
                yield Button("Stay", id="quit-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#quit-no", Button).focus()  # the safe choice has the focus

    @on(Button.Pressed, "#quit-yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit-no")
    def _no_pressed(self) -> None:
        self.dismiss(False)


class TooSmallScreen(ModalScreen[None]):
    """Covers the wizard while the terminal is smaller than it needs; goes when it is resized."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="quit")]

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.cols, self.rows = width, height

    def compose(self) -> ComposeResult:
        yield Static(self._notice(), id="too-small")

    def _notice(self) -> str:

        return (f"Make the terminal at least {MIN_SIZE[0]}x{MIN_SIZE[1]} (now {self.cols}x{self.rows}).\n"
                "The wizard goes on where it was once it fits.\n\n"
                "A report without the wizard:\n  ssdwizard --headless --report")

    def show_size(self, width: int, height: int) -> None:
        self.cols, self.rows = width, height
        self.query_one("#too-small", Static).update(self._notice())
