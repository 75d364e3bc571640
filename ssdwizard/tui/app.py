"""The wizard: a Textual app that walks the guide one screen per step.

Screens only show step results and plans; the probing, applying, undoing and the report export
happen here, in thread workers, so a slow or hung command never freezes the keyboard. The
first frame does not wait for any probe: each step shows a loading state until its result
arrives.

Console mode (the Linux console, a serial line, a C locale; see ssdwizard.terminal) draws with
ASCII and the terminal's own 16 colours: tui/console.py and the ``.-console`` rules of
wizard.tcss.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App
from textual.reactive import reactive
from textual.worker import Worker, WorkerState
from textual.binding import Binding
from textual.content import Content

from ssdwizard.tui.glyphs import ASCII, UNICODE, Glyphs
from ssdwizard.tui.messages import ApplyFinished, ExportFinished, ProbeCompleted, UndoFinished
from ssdwizard.tui.navigation import MIN_SIZE
from ssdwizard.steps import STEPS
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, Step, StepResult
from ssdwizard.system.base import System
from ssdwizard.textsafe import visible

if TYPE_CHECKING:
    from textual.filter import LineFilter

    from ssdwizard.apply.engine import Applied
    from ssdwizard.apply.plan import Plan
    from ssdwizard.report import Report



def _step_commands():
    """The palette's step provider, imported when the palette first opens (textual.command and
    the provider cost ~20 ms that the first frame need not pay)."""
    from ssdwizard.tui.palette import StepCommands

    return StepCommands


def export_format(path: str) -> str:
    """The report format a file name asks for: JSON for .json, else Markdown."""
    return "json" if path.lower().endswith(".json") else "markdown"


@dataclass
class AppliedChange:
    """A change made in this run, for the summary: which step, what it did, how to undo it."""

    step_id: str
    journal_id: str
    lines: list[str] = field(default_factory=list)
    undone: bool = False


class WizardApp(App[None]):
    """ssdwizard's wizard. ``system`` is this machine or a replayed profile.

    ``console`` draws with ASCII, plain line drawing and the 16 ANSI colours (None: decide from
    TERM and the locale, see ssdwizard.terminal). ``ansi`` uses the terminal's own 16 colours
    without the ASCII (None: in console mode, or where the terminal has only 16 colours).
    """

    # Absolute: Textual resolves a relative CSS_PATH against the file of the (sub)class.
    CSS_PATH = Path(__file__).resolve().parent / "wizard.tcss"
    TITLE = "ssdwizard"
    COMMANDS = App.COMMANDS | {_step_commands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, id="force-quit"),
        Binding("f1", "help", "Help", key_display="F1", id="help"),
        Binding("question_mark", "help", "Help", show=False, id="help-question-mark"),
        Binding("l", "step_list", "Steps", id="step-list"),
    ]

    #: A change is being made or undone. Set on the main thread only (start_apply, start_undo,
    #: and when the worker reports back); the footer's Apply and Undo follow it.
    applying: reactive[bool] = reactive(False, init=False)

    def __init__(self, system: System, chosen_disks: tuple[str, ...] | None = None,
                 choices: Mapping[str, str] | None = None, console: bool | None = None,
                 ansi: bool | None = None) -> None:
        if console is None:
            from ssdwizard.terminal import wants_ascii

            console = wants_ascii(os.environ)
        self.console_mode = console
        super().__init__()
        if ansi is None:
            ansi = console or self.console.color_system in ("standard", "windows")
        self.glyphs: Glyphs = ASCII if console else UNICODE
        self._ascii_filter: LineFilter | None = None
        if console:
            from ssdwizard.tui.console import AsciiFilter

            self._ascii_filter = AsciiFilter()
            self.add_class("-console")
            # A serial line at 9600 baud: no animations (the loading indicator says "Loading...").
            self.animation_level = "none"
        if ansi:
            # The terminal's own 16 colours: ok, warn and fail banners are green, yellow and red,
            # not three blends that the 16-colour fallback maps to the same grey.
            self.theme = "ansi-dark"
        self.system = system
        self.chosen_disks = chosen_disks
        self.choices = dict(choices or {})
        self.results: dict[str, StepResult] = {}
        self.applied: list[AppliedChange] = []
        self.skipped: set[str] = set()
        self._probe_context = ProbeContext(system, chosen_disks=chosen_disks)
        self.hostname: str | None = None
        self.kernel: str | None = None
        self._scrollbar_renderer: Any = None

    # -- the terminal ----------------------------------------------------------------------

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = list(super().get_line_filters())
        if self._ascii_filter is not None:
            filters.append(self._ascii_filter)  # last: whatever is still not ASCII is folded
        return filters

    def get_key_display(self, binding: Binding) -> str:
        if self.console_mode and not binding.key_display:
            from ssdwizard.tui.console import key_name

            modifiers, key = binding.parse_key()
            name = key_name(key)
            if name is not None:
                return "+".join([*modifiers, name])
        return super().get_key_display(binding)

    def format_title(self, title: str, sub_title: str) -> Content:
        if not sub_title:
            return Content(title)
        dash = " - " if self.console_mode else " — "
        return Content.assemble(Content(title), (dash, "dim"), Content(sub_title).stylize("dim"))

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        """Below MIN_SIZE a notice covers the wizard (no screen is drawn garbled, no key acts
        on what cannot be seen); it goes once the terminal is large enough."""
        from ssdwizard.tui.modals.menus import TooSmallScreen

        too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        shown = next((s for s in self.screen_stack if isinstance(s, TooSmallScreen)), None)
        if too_small and shown is None:
            self.push_screen(TooSmallScreen(width, height))
        elif too_small and shown is not None:
            shown.show_size(width, height)
        elif not too_small and shown is not None and self.screen is shown:
            self.pop_screen()

    # -- probing ---------------------------------------------------------------------------

    def get_default_screen(self):
        """The welcome screen is the first screen: one screen to compose before the first frame."""
        from ssdwizard.tui.screens.welcome import WelcomeScreen

        return WelcomeScreen()

    def on_mount(self) -> None:
        if self.console_mode:
            from textual.scrollbar import ScrollBar

            from ssdwizard.tui.console import AsciiScrollBarRender

            # Scrollbars without partial blocks; put back when the app ends (one app a process,
            # but the tests run many).
            self._scrollbar_renderer = ScrollBar.renderer
            ScrollBar.renderer = AsciiScrollBarRender
        self._check_size(self.size.width, self.size.height)
        # The probes start once the first frame is on the screen: their imports and threads
        # would otherwise compete with it for the interpreter.
        self.call_after_refresh(self._start_probing)

    def on_unmount(self) -> None:
        if self._scrollbar_renderer is not None:
            from textual.scrollbar import ScrollBar

            ScrollBar.renderer = self._scrollbar_renderer

    def _start_probing(self) -> None:
        self._read_machine()
        self.probe_all()

    def probe_all(self, steps: tuple[Step, ...] | None = None) -> None:
        """(Re)start the probes of these steps (all by default), each in its own worker."""
        for step in STEPS if steps is None else steps:
            self.results.pop(step.id, None)
            self._run_probe(step, self._probe_context)

    def choose_disks(self, names: tuple[str, ...]) -> None:
        """The admin's disk choice: every step probes again with it (step 1 says what the
        later steps focus on). The inventory does not depend on the choice: it is kept."""
        if names == self.chosen_disks:
            return
        self.chosen_disks = names
        inventory = self._probe_context.once(("inventory",), lambda: None)
        self._probe_context = ProbeContext(self.system, chosen_disks=names)
        if inventory is not None:
            self._probe_context.once(("inventory",), lambda: inventory)
        self.probe_all()

    def probe_again(self) -> None:
        """After an apply or an undo: every step reads the machine afresh (an fstrim.timer that
        TRIM enabled is what the mount step reports too), with the same disk choice."""
        self._probe_context = ProbeContext(self.system, chosen_disks=self.chosen_disks)
        self.probe_all()

    @work(thread=True, exit_on_error=False, group="machine")
    def _read_machine(self) -> None:
        from ssdwizard.machine.host import hostname, kernel_release  # as the report reads them

        self.hostname, self.kernel = hostname(self._probe_context), kernel_release(self._probe_context)
        self.call_from_thread(self._show_machine)

    def _show_machine(self) -> None:
        """The machine's name in the header: which server this is, at a glance."""
        name = visible(self.hostname or "unknown host", one_line=True)
        if self.system.profile_name:
            name += f" (recorded: {visible(self.system.profile_name, one_line=True)})"
        self.sub_title = self.glyphs.text(name)

    @work(thread=True, exit_on_error=False, group="probes")
    def _run_probe(self, step: Step, context: ProbeContext) -> None:
        from ssdwizard.runner import run_step  # in the worker: keeps it off the first frame

        try:
            result = run_step(step, context, self.choices)
        except Exception as exc:  # noqa: BLE001 - run_step catches the probe's errors; this is the last net
            result = StepResult(step.id, step.title, Status.ERROR, f"The probe failed: {type(exc).__name__}: {exc}")
        if context is self._probe_context:  # a probe of an earlier disk choice is stale: drop it
            self.post_message(ProbeCompleted(step.id, result))

    def on_probe_completed(self, message: ProbeCompleted) -> None:
        self.results[message.step_id] = message.result
        for screen in self.screen_stack:
            screen.post_message(ProbeCompleted(message.step_id, message.result))

    def watch_applying(self) -> None:
        self.screen.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one net under every worker, the dialogs' too (their StateChanged bubbles up
        here): each catches what it expects and reports it in its own message; anything else
        ends here as a notice, never a traceback, and an apply or undo it broke no longer
        blocks the next one."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "apply":
            self.applying = False
        self.notify(visible(f"{event.worker.name or 'a task'} failed: {type(error).__name__}: {error}", one_line=True),
                    title="Internal error", severity="error", timeout=30)

    # -- applying and undoing --------------------------------------------------------------

    def start_apply(self, step_id: str, plan: Plan) -> None:
        self.applying = True  # before the worker starts: a second Apply or q sees it at once
        self.run_apply(step_id, plan)

    @work(thread=True, exit_on_error=False, group="apply", exclusive=True)
    def run_apply(self, step_id: str, plan: Plan) -> None:
        from ssdwizard.apply.engine import ApplyFailed, ApplyRefused, apply_plan

        try:
            applied = apply_plan(self.system, plan)
        except ApplyRefused as exc:
            self.post_message(ApplyFinished(step_id, None, "; ".join(exc.problems), []))
        except ApplyFailed as exc:
            self.post_message(ApplyFinished(step_id, None, str(exc), exc.restored))
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.post_message(ApplyFinished(step_id, None, f"{type(exc).__name__}: {exc}", []))
        else:
            self.post_message(ApplyFinished(step_id, applied, None, []))

    def on_apply_finished(self, message: ApplyFinished) -> None:
        self.applying = False
        if message.applied is not None:
            self.applied.append(AppliedChange(message.step_id, message.applied.journal_id, list(message.applied.done)))
            self.skipped.discard(message.step_id)
        if message.applied is not None or message.restored:
            self.probe_again()
        for screen in self.screen_stack:
            screen.post_message(ApplyFinished(message.step_id, message.applied, message.error, message.restored))

    def last_undoable(self) -> AppliedChange | None:
        """The latest change of this run that is not undone yet (undo goes back in order)."""
        return next((change for change in reversed(self.applied) if not change.undone), None)

    def start_undo(self) -> bool:
        """Undo the last change of this run, in a worker; False when there is none (or an apply runs)."""
        change = self.last_undoable()
        if change is None or self.applying:
            return False
        self.applying = True
        self._run_undo(change.journal_id)
        return True

    @work(thread=True, exit_on_error=False, group="apply", exclusive=True)
    def _run_undo(self, journal_id: str) -> None:
        from ssdwizard.apply.engine import ApplyRefused, undo

        try:
            lines = undo(self.system, journal_id)
        except ApplyRefused as exc:
            self.post_message(UndoFinished(journal_id, [], "; ".join(exc.problems)))
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.post_message(UndoFinished(journal_id, [], f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(UndoFinished(journal_id, lines, None))

    def on_undo_finished(self, message: UndoFinished) -> None:
        self.applying = False
        if message.error is None:
            for change in self.applied:
                if change.journal_id == message.journal_id:
                    change.undone = True
            self.probe_again()
        for screen in self.screen_stack:
            screen.post_message(UndoFinished(message.journal_id, message.lines, message.error))

    def undo_command(self, journal_id: str | None = None) -> str:
        """The command that undoes ``journal_id`` (else the last change) on *this* machine: for a
        replayed profile (the demo's temporary copy) with its --machine, never the live one."""
        parts = ["ssdwizard", "--undo"] + ([journal_id] if journal_id else [])
        profile_dir = getattr(self.system, "profile_dir", None)
        if profile_dir is not None:
            parts += ["--machine", str(profile_dir)]
        return shlex.join(parts)

    # -- the report ------------------------------------------------------------------------

    def report(self) -> Report:
        from ssdwizard.report import Machine, Report

        machine = Machine(self.hostname, self.kernel, self.system.profile_name)
        return Report(machine, tuple(self.results[s.id] for s in STEPS if s.id in self.results))

    def export_report(self, path: str, fmt: str | None = None) -> None:
        """Write the report to ``path`` (format from the extension unless given), in a worker;
        ExportFinished says how it went."""
        from ssdwizard.report import RENDERERS

        fmt = fmt or export_format(path)
        self._write_report(path, fmt, RENDERERS[fmt](self.report()))

    @work(thread=True, exit_on_error=False, group="export", exclusive=True)
    def _write_report(self, path: str, fmt: str, text: str) -> None:
        try:
            Path(path).expanduser().write_text(text, encoding="utf-8")
        except OSError as exc:
            self.post_message(ExportFinished(path, fmt, exc.strerror or str(exc)))
        else:
            self.post_message(ExportFinished(path, fmt, None))

    def on_export_finished(self, message: ExportFinished) -> None:
        for screen in self.screen_stack:
            screen.post_message(ExportFinished(message.path, message.fmt, message.error))

    def exit_summary(self) -> str:
        """What this run changed, for the terminal after the wizard closed: each change with
        the command that undoes it (the copy's --machine in demo mode)."""
        host = visible(self.hostname or "this machine", one_line=True)
        if self.system.profile_name:
            host += f" (recorded machine {visible(str(getattr(self.system, 'profile_dir', '')), one_line=True)})"
        applied = [c for c in self.applied if not c.undone]
        undone = [c for c in self.applied if c.undone]
        lines: list[str] = []
        if not self.applied:
            lines.append(f"ssdwizard: no changes were applied to {host} in this run.")
        else:
            lines.append(f"ssdwizard: {len(applied)} change{'s' if len(applied) != 1 else ''} applied to {host} "
                         "in this run" + (":" if applied else "."))
        titles = {step.id: f"{number}. {step.title}" for number, step in enumerate(STEPS, 1)}
        for change in applied:
            lines.append(f"  {titles[change.step_id]}")
            lines += [f"    - {visible(line, one_line=True)}" for line in change.lines]
            lines.append(f"    undo: {self.undo_command(change.journal_id)}")
        for change in undone:
            lines.append(f"  {titles[change.step_id]}: applied, then undone in the wizard")
        if self.skipped:
            lines.append("  Skipped by you: " + ", ".join(titles[s.id] for s in STEPS if s.id in self.skipped))
        return "\n".join(lines) + "\n"

    # -- navigation ------------------------------------------------------------------------

    def show_step(self, index: int) -> None:
        """Go to step ``index`` (0-based) of STEPS; DISK_CHOICE (-1) is the disk choice, past the
        last step (SUMMARY) the summary. The welcome screen stays at the bottom of the stack."""
        from ssdwizard.tui.screens.disk_choice import DiskChoiceScreen
        from ssdwizard.tui.screens.step import StepScreen
        from ssdwizard.tui.screens.summary import SummaryScreen

        before_leave = getattr(self.screen, "before_leave", None)
        if before_leave is not None:
            before_leave()
        target = (DiskChoiceScreen() if index < 0 else SummaryScreen() if index >= len(STEPS) else StepScreen(index))
        self.switch_screen(target) if len(self.screen_stack) > 1 else self.push_screen(target)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from ssdwizard.tui.screens.base import typing_in_field

        if action == "step_list" and typing_in_field(self.screen):
            return False  # "l" is a letter of a file name there
        return True

    def action_help(self) -> None:
        from ssdwizard.tui.modals.menus import HelpModal

        self.push_screen(HelpModal())

    def action_step_list(self) -> None:
        from ssdwizard.tui.modals.menus import StepListModal

        def go(index: int | None) -> None:
            if index is not None:
                self.show_step(index)

        self.push_screen(StepListModal(getattr(self.screen, "position", None)), go)

    async def action_quit(self) -> None:
        """Quit, but ask first while a change is being made or after changes were made (the
        exit summary then lists them with their undo commands)."""
        from ssdwizard.tui.modals.menus import QuitModal

        if self.applying or self.last_undoable() is not None:
            self.push_screen(QuitModal(applying=self.applying, changes=len([c for c in self.applied if not c.undone])),
                             lambda yes: self.exit() if yes else None)
        else:
            self.exit()
