"""The wizard: a Textual app that walks the guide one screen per step.

Screens only show step results and plans; the probing and applying happen here, in thread
workers, so a slow or hung command never freezes the keyboard. The first frame does not wait
for any probe: each step shows a loading state until its result arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from ssdwizard.steps import STEPS
from ssdwizard.steps.base import ProbeContext, Status, Step, StepResult
from ssdwizard.system import System

if TYPE_CHECKING:
    from ssdwizard.apply.engine import Applied
    from ssdwizard.apply.plan import Plan
    from ssdwizard.report import Report


def _step_commands():
    """The palette's step provider, imported when the palette first opens (textual.command and
    the provider cost ~20 ms that the first frame need not pay)."""
    from ssdwizard.screens.palette import StepCommands

    return StepCommands


@dataclass
class AppliedChange:
    """A change made in this run, for the summary: which step, what it did, how to undo it."""

    step_id: str
    journal_id: str
    lines: list[str] = field(default_factory=list)


class WizardApp(App[None]):
    """ssdwizard's wizard. ``system`` is this machine or a replayed profile."""

    # Absolute: Textual resolves a relative CSS_PATH against the file of the (sub)class.
    CSS_PATH = Path(__file__).resolve().parent / "screens" / "wizard.tcss"
    TITLE = "ssdwizard"
    COMMANDS = App.COMMANDS | {_step_commands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, id="force-quit")]

    class ProbeCompleted(Message, bubble=False):
        """A step's probe (and planner) finished; ``result`` may be an error result.
        Posted to the app by the worker and passed on to every screen; it must not bubble
        back up from a screen to the app."""

        def __init__(self, step_id: str, result: StepResult) -> None:
            super().__init__()
            self.step_id = step_id
            self.result = result

    class ApplyFinished(Message, bubble=False):
        """An apply ended: ``applied`` on success, else ``error`` and what was ``restored``."""

        def __init__(self, step_id: str, applied: "Applied | None", error: str | None, restored: list[str]) -> None:
            super().__init__()
            self.step_id = step_id
            self.applied = applied
            self.error = error
            self.restored = restored

    def __init__(self, system: System, chosen_disks: tuple[str, ...] | None = None,
                 choices: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.system = system
        self.chosen_disks = chosen_disks
        self.choices = dict(choices or {})
        self.results: dict[str, StepResult] = {}
        self.applied: list[AppliedChange] = []
        self.applying = False
        self._probe_context = ProbeContext(system, chosen_disks=chosen_disks)
        self.hostname: str | None = None
        self.kernel: str | None = None

    # -- probing ---------------------------------------------------------------------------

    def get_default_screen(self):
        """The welcome screen is the first screen: one screen to compose before the first frame."""
        from ssdwizard.screens.welcome import WelcomeScreen

        return WelcomeScreen()

    def on_mount(self) -> None:
        # The probes start once the first frame is on the screen: their imports and threads
        # would otherwise compete with it for the interpreter.
        self.call_after_refresh(self._start_probing)

    def _start_probing(self) -> None:
        self._read_machine()
        self.probe_all()

    def probe_all(self, steps: tuple[Step, ...] = STEPS) -> None:
        """(Re)start the probes of these steps, each in its own worker."""
        for step in steps:
            self.results.pop(step.id, None)
            self._run_probe(step, self._probe_context)

    def choose_disks(self, names: tuple[str, ...]) -> None:
        """The admin's disk choice: the later steps probe again with it."""
        if names == self.chosen_disks:
            return
        self.chosen_disks = names
        inventory = self._probe_context.once(("inventory",), lambda: None)
        self._probe_context = ProbeContext(self.system, chosen_disks=names)
        if inventory is not None:  # the inventory does not depend on the choice: keep it
            self._probe_context.once(("inventory",), lambda: inventory)
        self.probe_all(STEPS[1:])

    @work(thread=True, exit_on_error=False, group="machine")
    def _read_machine(self) -> None:
        read = self._probe_context.read_value
        self.hostname, self.kernel = read("/proc/sys/kernel/hostname"), read("/proc/sys/kernel/osrelease")

    @work(thread=True, exit_on_error=False, group="probes")
    def _run_probe(self, step: Step, context: ProbeContext) -> None:
        from ssdwizard.runner import run_step  # in the worker: keeps it off the first frame

        try:
            result = run_step(step, context, self.choices)
        except Exception as exc:  # noqa: BLE001 - run_step catches the probe's errors; this is the last net
            result = StepResult(step.id, step.title, Status.ERROR, f"The probe failed: {type(exc).__name__}: {exc}")
        if context is self._probe_context:  # a probe of an earlier disk choice is stale: drop it
            self.post_message(self.ProbeCompleted(step.id, result))

    def on_wizard_app_probe_completed(self, message: ProbeCompleted) -> None:
        self.results[message.step_id] = message.result
        for screen in self.screen_stack:
            screen.post_message(self.ProbeCompleted(message.step_id, message.result))

    # -- applying --------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="apply", exclusive=True)
    def run_apply(self, step_id: str, plan: Plan) -> None:
        from ssdwizard.apply.engine import ApplyFailed, ApplyRefused, apply_plan

        self.applying = True
        try:
            applied = apply_plan(self.system, plan)
        except ApplyRefused as exc:
            self.post_message(self.ApplyFinished(step_id, None, "; ".join(exc.problems), []))
        except ApplyFailed as exc:
            self.post_message(self.ApplyFinished(step_id, None, str(exc), exc.restored))
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.post_message(self.ApplyFinished(step_id, None, f"{type(exc).__name__}: {exc}", []))
        else:
            self.post_message(self.ApplyFinished(step_id, applied, None, []))
        finally:
            self.applying = False

    def on_wizard_app_apply_finished(self, message: ApplyFinished) -> None:
        if message.applied is not None:
            self.applied.append(AppliedChange(message.step_id, message.applied.journal_id, list(message.applied.done)))
            step = next(s for s in STEPS if s.id == message.step_id)
            self._probe_context = ProbeContext(self.system, chosen_disks=self.chosen_disks)
            self.probe_all((step,))  # show the new state
        for screen in self.screen_stack:
            screen.post_message(self.ApplyFinished(message.step_id, message.applied, message.error, message.restored))

    # -- navigation ------------------------------------------------------------------------

    def show_step(self, index: int) -> None:
        """Go to step ``index`` (0-based) of STEPS; past the last one, the summary."""
        from ssdwizard.screens.step import StepScreen
        from ssdwizard.screens.summary import SummaryScreen

        target = SummaryScreen() if index >= len(STEPS) else StepScreen(index)
        self.switch_screen(target) if len(self.screen_stack) > 1 else self.push_screen(target)

    def report(self) -> Report:
        from ssdwizard.report import Machine, Report

        machine = Machine(self.hostname, self.kernel, self.system.profile_name)
        return Report(machine, tuple(self.results[s.id] for s in STEPS if s.id in self.results))
