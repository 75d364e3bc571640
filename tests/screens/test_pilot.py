"""The wizard walked by keys: the whole flow, the disk choice, apply and cancel on a copy of a
profile, and a probe that raises."""

from __future__ import annotations

from wizard_helpers import settle, wizard
from ssdwizard.apply.engine import undo
from ssdwizard.tui.modals.confirm import ConfirmApplyModal
from ssdwizard.tui.screens.disk_choice import DiskChoiceScreen
from ssdwizard.tui.screens.step import StepScreen
from ssdwizard.tui.screens.summary import SummaryScreen
from ssdwizard.tui.screens.welcome import WelcomeScreen
from ssdwizard.steps import STEPS
from ssdwizard.model import Status, Step


async def test_walk_the_whole_wizard_from_welcome_to_summary():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, DiskChoiceScreen)
        await pilot.press("enter")
        await settle(pilot)
        seen = []
        for _ in STEPS:
            assert isinstance(app.screen, StepScreen)
            seen.append(app.screen.step.id)
            await pilot.press("n")
            await settle(pilot)
        assert seen == [s.id for s in STEPS]
        assert isinstance(app.screen, SummaryScreen)
        await pilot.press("p")  # the export field has the focus: p is a letter of a file name
        assert isinstance(app.screen, SummaryScreen) and app.screen.query_one("#export-path").value == "p"
        await pilot.press("escape", "p")  # out of the field, then back
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "migration"


async def test_the_disk_choice_drives_the_later_steps():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # disk choice, cursor on sda
        for key in ("down", "down", "down", "space", "up", "up", "up", "space"):  # add sdd, drop sda
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        assert app.chosen_disks == ("sdb", "sdc", "sdd")
        trim_disks = [d["name"] for d in app.results["trim"].facts["disks"]]
        assert trim_disks == ["sdb", "sdc", "sdd"]
        scheduler_disks = [d["name"] for d in app.results["scheduler"].facts["disks"]]
        assert scheduler_disks == ["sdb", "sdc", "sdd"]


async def _go_to(pilot, step_id: str) -> None:
    await settle(pilot)
    await pilot.press("enter", "enter")
    await settle(pilot)
    while pilot.app.screen.step.id != step_id:
        await pilot.press("n")
        await settle(pilot)


async def test_apply_an_fstab_change_then_undo(profile_copy):
    profile = profile_copy()
    fstab = profile / "root" / "etc" / "fstab"
    before = fstab.read_bytes()
    app = wizard(profile)
    async with app.run_test(size=(100, 32)) as pilot:
        await _go_to(pilot, "mount")
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmApplyModal)
        await pilot.press("y")
        await settle(pilot)
        assert [a.step_id for a in app.applied] == ["mount"]
        assert "errors=remount-ro,noatime" in fstab.read_text()
        assert app.results["mount"].plan is None  # probed again: nothing left to change
        status = str(app.screen.query_one("#apply-status").render())
        assert f"ssdwizard --undo {app.applied[0].journal_id}" in status
    undo(app.system, app.applied[0].journal_id)
    assert fstab.read_bytes() == before


async def test_cancel_in_the_dialog_changes_nothing(profile_copy):
    profile = profile_copy()
    fstab = profile / "root" / "etc" / "fstab"
    before = fstab.read_bytes()
    app = wizard(profile)
    async with app.run_test(size=(100, 32)) as pilot:
        await _go_to(pilot, "mount")
        await pilot.press("a")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StepScreen) and app.applied == []
        assert "Cancelled: nothing was changed." in str(app.screen.query_one("#apply-status").render())
    assert fstab.read_bytes() == before
    assert not (profile / "root" / "var" / "lib" / "ssdwizard").exists()


async def test_a_probe_that_raises_shows_an_error_and_the_wizard_goes_on(monkeypatch):
    import ssdwizard.tui.app as app_module

    def broken(ctx):
        raise RuntimeError("the sysfs tree vanished")

    steps = tuple(Step(s.id, s.title, broken) if s.id == "ahci" else s for s in STEPS)
    monkeypatch.setattr(app_module, "STEPS", steps)
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await _go_to(pilot, "ahci")
        result = app.results["ahci"]
        assert result.status is Status.ERROR and "RuntimeError: the sysfs tree vanished" in result.summary
        banner = str(app.screen.query_one("#banner").render())
        assert "ERROR" in banner
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.step.id == "sata" and app.results["sata"].status is Status.OK


async def test_export_the_report_from_the_summary(tmp_path):
    app = wizard()
    target = tmp_path / "report.md"
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        app.show_step(len(STEPS))
        await settle(pilot)
        app.screen.query_one("#export-path").value = str(target)
        await pilot.click("#export-markdown")
        await settle(pilot)
    text = target.read_text()
    assert text.startswith("# ssdwizard report: pve1") and "## 10. Live migration" in text


async def test_the_trim_test_and_iops_dialogs_say_why_they_cannot_run_on_a_recording():
    from ssdwizard.tui.modals.active import IopsModal, TrimTestModal

    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.press("i")
        assert isinstance(app.screen, IopsModal) and app.screen.disk == "sda"
        await pilot.click("#run")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Not measured" in str(app.screen.query_one("#active-text").render())
        await pilot.press("escape")
        await pilot.press("enter")
        await settle(pilot)
        while app.screen.step.id != "trim":
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("t")
        assert isinstance(app.screen, TrimTestModal) and app.screen.mount_point == "/"
        await pilot.click("#run")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.screen.query_one("#active-text").render())
        assert "Not run" in text and "recorded profile" in text


async def test_the_command_palette_jumps_to_a_step():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Ceph RBD")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.step.id == "ceph"


async def test_a_step_action_belongs_to_its_own_step_only():
    # The extras table gives the TRIM step its dialog (key t and a button); the other steps
    # have neither, and t there does nothing.
    from ssdwizard.tui.extras import extras_of
    from ssdwizard.tui.modals.active import TrimTestModal

    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "enter")
        await settle(pilot)
        for _ in STEPS:
            screen = app.screen
            assert isinstance(screen, StepScreen)
            action = extras_of(screen.step.id).action
            buttons = {button.id for button in screen.query(".step-action")}
            assert buttons == ({action.id} if action else set())
            if action is None:
                await pilot.press("t")
                assert app.screen is screen
            else:
                await pilot.click(f"#{action.id}")
                await pilot.pause()
                assert isinstance(app.screen, TrimTestModal)
                await pilot.press("escape")
                await pilot.pause()
            await pilot.press("n")
            await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)


async def test_a_worker_that_fails_unexpectedly_becomes_a_notice_and_frees_apply(monkeypatch):
    # Every worker reports what it expects in its own message; the app's one Worker.StateChanged
    # handler takes the rest: a notice instead of a traceback, and Apply works again after.
    import ssdwizard.machine.host

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ssdwizard.machine.host, "hostname", broken)  # the header's worker
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        notices = [str(n.message) for n in app._notifications]
        assert any("_read_machine failed: RuntimeError: boom" in n for n in notices), notices
        app.applying = True
        from textual.worker import WorkerState

        worker = app.run_worker(broken, thread=True, exit_on_error=False, group="apply", name="an apply")
        for _ in range(200):
            if worker.state is WorkerState.ERROR and not app.applying:
                break
            await pilot.pause(0.02)
        assert not app.applying
        assert any("an apply failed" in str(n.message) for n in app._notifications)
