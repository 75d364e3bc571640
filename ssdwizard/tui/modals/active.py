"""The opt-in active tests in the wizard: the TRIM read-back test (from the TRIM screen) and
the IOPS measurement (from the disk choice), each behind its own dialog with a progress bar.
The work runs in a thread worker; the dialog only shows its progress and result."""

from __future__ import annotations

import threading
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from ssdwizard.textsafe import visible
from ssdwizard.tui.messages import ProbeCompleted
from ssdwizard.tui.screens.base import wizard_of


class ActiveTestModal(ModalScreen[None]):
    """Shared frame: a title, what will happen, a progress bar, the result, Run and Close."""

    BINDINGS = [Binding("escape", "close", "Close", id="close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.cancel = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.title_text, id="confirm-title")
            yield from self.compose_inputs()
            with VerticalScroll(id="confirm-body"):
                yield Static("", id="active-text")
            bar = ProgressBar(total=1.0, show_eta=False, id="active-progress")
            if wizard_of(self).console_mode:
                from ssdwizard.tui.console import AsciiBar

                bar.BAR_RENDERABLE = AsciiBar  # ━ ╸ ╺ are not in a console font
            yield bar
            with Horizontal(classes="actions"):
                yield Button("Run", id="run", variant="warning")
                yield Button("Close", id="close", variant="primary")

    def compose_inputs(self) -> ComposeResult:
        return iter(())

    def start(self) -> None:
        """Starts the dialog's worker (each dialog has its own)."""
        raise NotImplementedError

    def say(self, text: str) -> None:
        shown = visible(text)  # error lines quote the machine
        if wizard_of(self).console_mode:
            from ssdwizard.tui.glyphs import fold

            shown = fold(shown)
        self.query_one("#active-text", Static).update(Text(shown))

    def progress(self, phase: str, fraction: float) -> None:
        """Called from the worker thread: hop to the UI thread."""
        self.app.call_from_thread(self._progress, phase, fraction)

    def _progress(self, phase: str, fraction: float) -> None:
        self.query_one("#active-progress", ProgressBar).update(progress=fraction)
        self.query_one("#confirm-title", Static).update(f"{self.title_text}: {phase}")

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        if not self.running:
            self.running = True
            self.query_one("#run", Button).disabled = True
            self.start()  # each dialog (TRIM test, IOPS) starts its own worker

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        self.cancel.set()  # a running test stops at its next check and cleans up
        self.dismiss(None)

    def finished(self, text: str) -> None:
        self.running = False
        self.say(text)


class TrimTestModal(ActiveTestModal):
    """Writes a test file on a mounted filesystem, fstrims, reads the device back read-only."""

    def __init__(self, mount_point: str) -> None:
        super().__init__("TRIM read-back test")
        self.mount_point = mount_point

    def compose_inputs(self) -> ComposeResult:
        yield Input(self.mount_point, placeholder="mount point of an ext4 or xfs filesystem on the disk",
                    id="trim-mount")

    def on_mount(self) -> None:
        self.say("Run writes a test file on the mount point (at least 16 MiB), maps it to the device, "
                 "runs fstrim over it and reads the same blocks back, read-only: zeros mean TRIM reaches "
                 "the disk. The file is always removed. The plan is shown before the first write.")

    def start(self) -> None:
        self._run(self.query_one("#trim-mount", Input).value.strip() or "/")

    @work(thread=True, exit_on_error=False, group="active")
    def _run(self, mount_point: str) -> None:
        from ssdwizard.active.trimtest import TrimTestRefused, plan_trim_test, run_trim_test, with_trim_test

        app = wizard_of(self)
        try:
            plan = plan_trim_test(app.system, mount_point)
        except TrimTestRefused as exc:
            app.call_from_thread(self.finished, f"Not run: {exc}")
            return
        app.call_from_thread(self.say, "\n".join(plan.describe()))
        try:
            outcome = run_trim_test(app.system, plan, on_progress=self.progress,
                                    cancel=self.cancel)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a traceback
            app.call_from_thread(self.finished, f"The test stopped: {exc}. Its file was removed.")
            return
        result = app.results.get("trim")
        if result is not None:
            updated = with_trim_test(result, outcome)
            app.call_from_thread(app.post_message, ProbeCompleted("trim", updated))
        app.call_from_thread(self.finished, f"{outcome.message}\n{outcome.advice}")


class IopsModal(ActiveTestModal):
    """4 KiB random reads at queue depth 1 and 32; never writes."""

    def __init__(self, disk: str) -> None:
        super().__init__(f"IOPS of {disk} (read-only)")
        self.disk = disk

    def on_mount(self) -> None:
        self.say(f"Run reads 4 KiB blocks of /dev/{self.disk} at random for a few seconds at queue depth 1 "
                 "and 32 (fio when installed, else a built-in reader). It never writes.")

    def start(self) -> None:
        self._run()

    @work(thread=True, exit_on_error=False, group="active")
    def _run(self) -> None:
        from ssdwizard.active.iops import iops_fact, measure_iops

        app = wizard_of(self)
        try:
            result = measure_iops(app.system, self.disk, on_progress=self.progress,
                                  cancel=self.cancel)
        except Exception as exc:  # noqa: BLE001 - a refused or failed measurement is shown, not raised
            app.call_from_thread(self.finished, f"Not measured: {exc}")
            return
        disks = app.results.get("disks")
        if disks is not None:
            # The measurement becomes the disk's `iops` fact, so the report and export carry it.
            facts = {**disks.facts, "disks": [{**d, "iops": iops_fact(result)} if d["name"] == self.disk else d
                                              for d in disks.facts.get("disks", [])]}
            updated = replace(disks, facts=facts)
            app.call_from_thread(app.post_message, ProbeCompleted("disks", updated))
        app.call_from_thread(self.finished, result.text())
