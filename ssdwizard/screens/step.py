"""One screen per step: title and number, status banner, findings, facts, picture, actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, LoadingIndicator, Static

from ssdwizard.app import WizardApp
from ssdwizard.screens.confirm import ConfirmApplyModal
from ssdwizard.screens.pictures import picture_for
from ssdwizard.screens.widgets import FactsView, StatusBanner, finding_widget, safe_text
from ssdwizard.steps import STEPS
from ssdwizard.steps.base import StepResult


class QuitModal(ModalScreen[bool]):
    """Asks before quitting while a change is being applied."""

    BINDINGS = [Binding("escape,n", "dismiss(False)", "Stay", id="stay"), Binding("y", "dismiss(True)", "Quit", id="quit")]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static("A change is being applied right now. Quit anyway? The apply finishes or rolls back "
                         "on its own; its journal keeps the originals.", id="confirm-title")
            with Horizontal(classes="actions"):
                yield Button("Quit", id="quit-yes", variant="error")
                yield Button("Stay", id="quit-no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")


class StepScreen(Screen[None]):
    BINDINGS = [
        Binding("n,right", "next", "Next", id="next"),
        Binding("p,left", "back", "Back", id="back"),
        Binding("a", "apply", "Apply…", id="apply"),
        Binding("s", "skip", "Skip", id="skip"),
        Binding("t", "trim_test", "TRIM test…", id="trim-test"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.step = STEPS[index]
        self.message_line = ""

    @property
    def result(self) -> StepResult | None:
        return self.app.results.get(self.step.id)  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="step-body"):
            yield Static(f"{self.index + 1}/{len(STEPS)} {self.step.title}", classes="step-title")
            yield StatusBanner(id="banner")
            yield Static("", id="apply-status")
            yield LoadingIndicator(id="loading")
            yield VerticalScroll(id="details")
            with Horizontal(classes="actions"):
                yield Button("Back", id="back")
                yield Button("Skip", id="skip")
                if self.step.id == "trim":
                    yield Button("TRIM test…", id="trim-test")
                yield Button("Apply…", id="apply", variant="warning")
                yield Button("Next", id="next", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._show()

    def on_wizard_app_probe_completed(self, message: WizardApp.ProbeCompleted) -> None:
        if message.step_id == self.step.id:
            self._show()

    def on_wizard_app_apply_finished(self, message: WizardApp.ApplyFinished) -> None:
        if message.step_id != self.step.id:
            return
        if message.applied is not None:
            self._say(f"✔ Applied ({len(message.applied.done)} change(s)); undo with: "
                      f"ssdwizard --undo {message.applied.journal_id}", "-ok")
        else:
            restored = "; ".join(message.restored) or "nothing had been written"
            self._say(f"✖ Not applied: {message.error}. Restored: {restored}.", "-fail")
        self.query_one("#loading").display = self.result is None

    def _say(self, text: str, kind: str = "") -> None:
        """A line about the apply under the banner (shown only when there is something to say)."""
        status = self.query_one("#apply-status", Static)
        status.update(safe_text(text))  # an error may quote a changed line of a file
        status.set_classes(f"-shown {kind}".strip())

    def _show(self) -> None:
        result = self.result
        self.query_one("#banner", StatusBanner).show(result)
        self.query_one("#loading").display = result is None
        self.query_one("#apply", Button).display = bool(result and result.plan)
        details = self.query_one("#details", VerticalScroll)
        details.remove_children()
        if result is None:
            return
        widgets = [finding_widget(f, i) for i, f in enumerate(result.findings)]
        widgets += picture_for(self.step.id, result.facts)
        if result.facts:
            widgets.append(Static("Facts", classes="facts-title"))
            widgets.append(FactsView(result.facts))
        details.mount_all(widgets)

    def action_next(self) -> None:
        self.app.show_step(self.index + 1)  # type: ignore[attr-defined]

    action_skip = action_next

    def action_back(self) -> None:
        if self.index == 0:
            from ssdwizard.screens.disk_choice import DiskChoiceScreen

            self.app.switch_screen(DiskChoiceScreen())
        else:
            self.app.show_step(self.index - 1)  # type: ignore[attr-defined]

    def action_apply(self) -> None:
        result = self.result
        if not result or not result.plan or self.app.applying:  # type: ignore[attr-defined]
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._say("Applying… (backing up, writing, verifying)")
                self.query_one("#loading").display = True
                self.app.run_apply(self.step.id, result.plan)  # type: ignore[attr-defined]
            else:
                self._say("Cancelled: nothing was changed.")

        self.app.push_screen(ConfirmApplyModal(self.step.title, result.plan), confirmed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The TRIM test belongs to the TRIM screen only.
        return self.step.id == "trim" if action == "trim_test" else True

    def action_trim_test(self) -> None:
        from ssdwizard.screens.active import TrimTestModal

        mounts = self.app.results.get("filesystem")  # type: ignore[attr-defined]
        candidates = [m["target"] for m in (mounts.facts.get("mounts", []) if mounts else [])
                      if m.get("fstype") in ("ext4", "xfs")]
        self.app.push_screen(TrimTestModal(candidates[0] if candidates else "/"))

    def action_quit(self) -> None:
        if not self.app.applying:  # type: ignore[attr-defined]
            self.app.exit()
            return
        self.app.push_screen(QuitModal(), lambda yes: self.app.exit() if yes else None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"next": self.action_next, "skip": self.action_skip, "back": self.action_back,
         "apply": self.action_apply, "trim-test": self.action_trim_test}[event.button.id or "next"]()
