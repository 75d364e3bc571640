"""The first screen: what the wizard will do, on which machine."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from ssdwizard.tui.screens.base import WizardScreen, wizard_footer, wizard_header
from ssdwizard.steps import STEPS
from ssdwizard.textsafe import visible

INTRO = (
    "ssdwizard walks this server's storage through a proven SSD tuning guide, one step per "
    "screen. Each step reads the machine, shows what it found with the evidence, and gives "
    "today's advice where the 2013 guide is outdated. Where a fix exists, Apply shows the exact "
    "change first; nothing is written without your confirmation, every file is backed up, and "
    "every change can be undone: on the summary (u), or with the command shown after the change "
    "and printed again when the wizard closes."
)


class WelcomeScreen(WizardScreen):
    BINDINGS = [Binding("enter", "start", "Start", id="start"), Binding("q", "app.quit", "Quit", id="quit")]

    def compose(self) -> ComposeResult:
        yield wizard_header(self.app)
        with VerticalScroll(id="welcome"):
            yield Static("Welcome to ssdwizard", id="welcome-title")
            yield Static(INTRO, id="welcome-intro")
            yield Static("\n".join(f"{n:>2}. {step.title}" for n, step in enumerate(STEPS, 1)), id="welcome-steps")
            yield Static(self._machine_line(), id="welcome-machine")
            with Horizontal(classes="actions"):
                yield Button("Start", id="start", variant="primary")
                yield Button("Quit", id="quit")
        yield wizard_footer()

    def _machine_line(self) -> Text:
        system = self.wizard.system
        if system.profile_name:
            # The profile's own words: a Text (not markup), its escape sequences written out.
            description = getattr(system, "description", "").strip().split(". ")[0]
            replaying = visible(f"Replaying the recorded machine '{system.profile_name}': {description}.",
                                one_line=True)
            return Text(self.glyphs.text(
                replaying + "\nChanges you apply land in the profile's root/ folder, not on this machine. "
                "Undo them on the summary (u), or with the ssdwizard --undo ID --machine DIR shown after "
                "each change."))
        return Text("Looking at this machine. Probes only read; run as root for the full picture.")

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#quit")
    async def _quit_pressed(self) -> None:
        await self.wizard.action_quit()

    def action_start(self) -> None:
        from ssdwizard.tui.screens.disk_choice import DiskChoiceScreen

        # The welcome screen is the app's base screen: the wizard goes on above it.
        self.app.push_screen(DiskChoiceScreen())
