"""One screen per step: title and number, status banner, findings, facts, picture, actions."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, LoadingIndicator, Static

from ssdwizard.tui.messages import ApplyFinished, ProbeCompleted
from ssdwizard.tui.screens.base import WizardScreen, wizard_footer, wizard_header
from ssdwizard.tui.modals.confirm import ConfirmApplyModal
from ssdwizard.tui.extras import ACTIONS, extras_of, picture_for
from ssdwizard.tui.widgets.facts import FactsView
from ssdwizard.tui.widgets.status import StatusBanner, finding_widget, safe_text
from ssdwizard.steps import STEPS
from ssdwizard.model import Status, StepResult


class StepScreen(WizardScreen):
    BINDINGS = [
        Binding("n,right", "next", "Next", id="next"),
        Binding("p,left,escape", "back", "Back", id="back"),
        Binding("a", "apply", "Apply", id="apply"),
        Binding("s", "skip", "Skip", id="skip"),
        # A step's own dialog (the TRIM test): one binding per entry of the extras table, each
        # shown only on its step's screen.
        *(Binding(action.key, f"step_action({step_id!r})", action.label, id=action.id) for step_id, action in ACTIONS),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.position = index
        self.step = STEPS[index]

    #: The result on the screen: each new one redraws the banner, findings, picture and facts
    #: (watch_shown). It stays while a re-probe runs; ``result`` is the app's current one.
    shown: reactive[StepResult | None] = reactive(None, init=False, always_update=True)

    @property
    def result(self) -> StepResult | None:
        """The current result (None while the step is probed again after an apply): what Apply
        may act on, never a plan from before the change."""
        return self.wizard.results.get(self.step.id)

    def compose(self) -> ComposeResult:
        more = self.glyphs.ellipsis
        yield wizard_header(self.app)
        with Vertical(id="step-body"):
            yield Static(f"{self.index + 1}/{len(STEPS)} {self.step.title}", classes="step-title")
            yield StatusBanner(id="banner")
            yield Static("", id="apply-status")
            yield LoadingIndicator(id="loading")
            # Everything a step found is in here, scrollable: the findings (whole titles,
            # wrapped), the picture and the facts, at 80x24 as at 100x32.
            yield VerticalScroll(id="details")
            with Horizontal(classes="actions"):
                yield Button("Back", id="back")
                yield Button("Skip", id="skip")
                action = extras_of(self.step.id).action
                if action is not None:
                    yield Button(f"{action.label}{more}", id=action.id, classes="step-action")
                yield Button(f"Apply{more}", id="apply", variant="warning")
                yield Button("Next", id="next", variant="primary")
        yield wizard_footer()

    def on_mount(self) -> None:
        self.shown = self.result  # always_update: drawn even while the probe still runs (None)

    def on_probe_completed(self, message: ProbeCompleted) -> None:
        if message.step_id == self.step.id:
            self.shown = message.result

    def on_apply_finished(self, message: ApplyFinished) -> None:
        if message.step_id != self.step.id:
            return
        marks = self.glyphs.marks
        if message.applied is not None:
            count = len(message.applied.done)
            self._say(f"{marks[Status.OK]} Applied ({count} change{'s' if count != 1 else ''}); undo with: "
                      f"{self.wizard.undo_command(message.applied.journal_id)} (or u on the summary)", "-ok")
        else:
            restored = "; ".join(message.restored) or "nothing had been written"
            self._say(f"{marks[Status.FAIL]} Not applied: {message.error}. Restored: {restored}.", "-fail")
        self.query_one("#loading").display = self.result is None
        self.refresh_bindings()

    def _say(self, text: str, kind: str = "") -> None:
        """A line about the apply under the banner (shown only when there is something to say)."""
        status = self.query_one("#apply-status", Static)
        status.update(safe_text(text, glyphs=self.glyphs))  # an error may quote a changed line of a file
        status.set_classes(f"-shown {kind}".strip())

    def watch_shown(self, result: StepResult | None) -> None:
        self.query_one("#banner", StatusBanner).show(result)
        self.query_one("#loading").display = result is None
        self.query_one("#apply", Button).display = bool(result and result.plan)
        self.refresh_bindings()  # the footer's Apply comes and goes with the plan
        details = self.query_one("#details", VerticalScroll)
        details.remove_children()
        if result is None:
            return
        glyphs = self.glyphs
        widgets: list[Widget] = [finding_widget(f, i, glyphs) for i, f in enumerate(result.findings)]
        widgets += picture_for(self.step.id, result.facts, glyphs)
        if result.facts:
            widgets.append(Static("Facts", classes="facts-title"))
            widgets.append(FactsView(result.facts, glyphs=glyphs))
        details.mount_all(widgets)

    def allows(self, action: str, parameters: tuple[object, ...] = ()) -> bool | None:
        if action == "step_action":
            return parameters == (self.step.id,)  # a step's dialog belongs to its own screen only
        if action == "apply":
            result = self.result
            return bool(result and result.plan) and not self.wizard.applying
        return True

    def action_next(self) -> None:
        self.wizard.skipped.discard(self.step.id)
        self.wizard.show_step(self.index + 1)

    def action_skip(self) -> None:
        """Go on without this step: the summary and the exit summary say you skipped it."""
        self.wizard.skipped.add(self.step.id)
        self.wizard.show_step(self.index + 1)

    def action_back(self) -> None:
        self.wizard.show_step(self.index - 1)  # before step 1: the disk choice

    def action_apply(self) -> None:
        result = self.result
        if not result or not result.plan or self.wizard.applying:
            return
        plan = result.plan

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._say(f"Applying{self.glyphs.ellipsis} (backing up, writing, verifying)")
                self.query_one("#loading").display = True
                self.wizard.start_apply(self.step.id, plan)
            else:
                self._say("Cancelled: nothing was changed.")

        self.app.push_screen(ConfirmApplyModal(self.step.title, plan, glyphs=self.glyphs), confirmed)

    def action_step_action(self, step_id: str) -> None:
        action = extras_of(step_id).action
        if action is not None and step_id == self.step.id:
            self.app.push_screen(action.open(self.wizard))

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#skip")
    def _skip_pressed(self) -> None:
        self.action_skip()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, ".step-action")
    def _step_action_pressed(self) -> None:
        self.action_step_action(self.step.id)
