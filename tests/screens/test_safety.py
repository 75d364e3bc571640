"""A wizard that cannot hurt you and tells the truth (issue 11): letters never act while a text
field has the focus, the export is written by the app, demo undo names the copy, every step is
probed again after an apply, everything a step found is reachable, and the navigation keys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Button, DataTable, Input
from textual.widgets._collapsible import CollapsibleTitle

from wizard_helpers import settle, wizard
from ssdwizard.tui.navigation import SUMMARY
from ssdwizard.tui.modals.confirm import ConfirmApplyModal
from ssdwizard.tui.screens.disk_choice import DiskChoiceScreen
from ssdwizard.tui.modals.menus import HelpModal, QuitModal, StepListModal
from ssdwizard.tui.screens.step import StepScreen
from ssdwizard.tui.screens.summary import SummaryScreen
from ssdwizard.tui.screens.welcome import WelcomeScreen
from ssdwizard.tui.widgets.facts import FactsView
from ssdwizard.steps import STEPS

SCREENS = Path(__file__).resolve().parents[2] / "ssdwizard" / "screens"


async def walk(pilot, *keys: str) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def to_step(pilot, step_id: str) -> None:
    await walk(pilot, "enter", "enter")
    while pilot.app.screen.step.id != step_id:
        await walk(pilot, "n")


async def to_summary(pilot) -> None:
    pilot.app.show_step(SUMMARY)
    await settle(pilot)
    assert isinstance(pilot.app.screen, SummaryScreen)


def fstab_of(profile: Path) -> Path:
    return profile / "root" / "etc" / "fstab"


# ---- D: letters never act while typing; Enter exports; the app writes the file ---------------

async def test_typing_a_file_name_on_the_summary_runs_no_command(profile_copy, tmp_path):
    profile = profile_copy()
    before = fstab_of(profile).read_bytes()
    target = tmp_path / "pay.md"
    app = wizard(profile)
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, "enter", "enter", *["n"] * len(STEPS))
        screen = app.screen
        assert isinstance(screen, SummaryScreen)
        field = screen.query_one("#export-path", Input)
        assert app.focused is field  # the field has the focus when the summary opens
        # Once this went back (p), opened Apply (a) and confirmed it (y): four `qm set` changes.
        for char in str(target):
            await pilot.press(char)
        await settle(pilot)
        assert app.screen is screen and app.applied == [] and field.value == str(target)
        # While typing, the screen's own keys are off (and gone from the footer).
        assert screen.check_action("back", ()) is False and screen.check_action("undo", ()) is False
        assert not {"p", "u", "q", "l"} & set(screen.active_bindings)
        await walk(pilot, "enter")
        assert "Wrote the Markdown report to" in str(screen.query_one("#export-status").render())
    assert fstab_of(profile).read_bytes() == before
    assert not (profile / "root" / "var" / "lib" / "ssdwizard").exists()
    assert target.read_text().startswith("# ssdwizard report: pve1")


@pytest.mark.parametrize(("name", "kind"), [("r.json", "json"), ("r.md", "markdown"), ("report", "markdown"),
                                            ("R.JSON", "json")])
async def test_enter_in_the_export_field_writes_the_format_of_the_extension(tmp_path, name, kind):
    target = tmp_path / name
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await to_summary(pilot)
        app.screen.query_one("#export-path", Input).value = str(target)
        await walk(pilot, "enter")
    text = target.read_text()
    if kind == "json":
        assert json.loads(text)["machine"]["hostname"] == "pve1"
    else:
        assert text.startswith("# ssdwizard report: pve1")


async def test_an_export_that_cannot_be_written_says_why(tmp_path):
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await to_summary(pilot)
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "no" / "such" / "dir.md")
        await walk(pilot, "enter")
        status = str(app.screen.query_one("#export-status").render())
    assert status.startswith("Could not write") and "No such file or directory" in status


async def test_esc_leaves_the_export_field_and_then_the_keys_work_again():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await to_summary(pilot)
        await walk(pilot, "escape")
        assert not isinstance(app.focused, Input)
        assert "p" in app.screen.active_bindings
        await walk(pilot, "p")
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "migration"


def test_no_screen_writes_a_file():
    # The export is the app's (a worker): screens show results, they never write.
    for path in SCREENS.glob("*.py"):
        source = path.read_text()
        assert not re.search(r"\.write_(text|bytes)\(|\bopen\(", source), path.name


# ---- E: demo undo names the copy; undo from the wizard ---------------------------------------

async def test_undo_on_the_summary_puts_the_last_change_back(profile_copy):
    profile = profile_copy()
    before = fstab_of(profile).read_bytes()
    app = wizard(profile)
    async with app.run_test(size=(100, 32)) as pilot:
        await to_step(pilot, "mount")
        await walk(pilot, "a", "y")
        assert fstab_of(profile).read_bytes() != before
        journal_id = app.applied[0].journal_id
        status = str(app.screen.query_one("#apply-status").render())
        # The command names this copy: plain `ssdwizard --undo` would undo the live machine.
        assert f"ssdwizard --undo {journal_id} --machine {profile}" in status
        await to_summary(pilot)
        applied = str(app.screen.query_one("#applied").render())
        assert f"ssdwizard --undo {journal_id} --machine {profile}" in applied
        assert app.screen.query_one("#undo", Button).display
        await walk(pilot, "escape", "u")
        assert app.applied[0].undone and fstab_of(profile).read_bytes() == before
        assert "Undone:" in str(app.screen.query_one("#export-status").render())
        assert "mount: undone" in str(app.screen.query_one("#applied").render())
        assert not app.screen.query_one("#undo", Button).display
        assert app.results["mount"].plan is not None  # probed again: the change is to make again
        await walk(pilot, "u")  # nothing left to undo: nothing happens
        assert fstab_of(profile).read_bytes() == before
    assert "applied, then undone in the wizard" in app.exit_summary()


async def test_the_welcome_screen_of_a_replay_names_the_machine_folder_in_its_undo_hint():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        text = str(app.screen.query_one("#welcome-machine").render())
    assert "ssdwizard --undo ID --machine DIR" in text
    assert app.undo_command("ID") == f"ssdwizard --undo ID --machine {app.system.profile_dir}"


# ---- F: after an apply every step is probed again; step 1 follows the disk choice -------------

async def test_after_an_apply_every_step_shows_the_new_state(profile_copy):
    app = wizard(profile_copy(), chosen_disks=("sda", "sdb"))
    async with app.run_test(size=(100, 32)) as pilot:
        await to_step(pilot, "trim")
        mount_before = app.results["mount"]
        assert any("fstrim.timer is disabled" in f.message for f in mount_before.findings)
        await walk(pilot, "a", "y")
        assert [a.step_id for a in app.applied] == ["trim"]
        assert app.results["trim"].plan is None
        mount_after = app.results["mount"]
        assert mount_after is not mount_before
        assert not any("fstrim.timer is disabled" in f.message for f in mount_after.findings)
        assert all(app.results[s.id] is not None for s in STEPS)
        # The disk choice is kept.
        assert app.chosen_disks == ("sda", "sdb")
        assert [d["name"] for d in app.results["scheduler"].facts["disks"]] == ["sda", "sdb"]


async def test_step_1_follows_the_disk_choice():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, "enter")
        await walk(pilot, "down", "down", "down", "space", "up", "up", "up", "space", "enter")
        assert app.chosen_disks == ("sdb", "sdc", "sdd")
        assert "focus: sdb, sdc, sdd" in app.results["disks"].summary
        assert "focus: sdb, sdc, sdd" in str(app.screen.query_one("#banner").render())


# ---- G: everything a step found is reachable, at 80x24 and 100x32 ----------------------------

def _letters(text: str) -> str:
    """The text without its blanks: wrapping breaks lines at spaces and after hyphens."""
    return "".join(text.split())


@pytest.mark.parametrize("size", [(80, 24), (100, 32)])
async def test_every_finding_and_every_fact_is_reachable(size):
    app = wizard()
    async with app.run_test(size=size) as pilot:
        await walk(pilot, "enter", "enter")
        for step in STEPS:
            screen = app.screen
            assert screen.step.id == step.id
            result = app.results[step.id]
            details = screen.query_one("#details")
            titles = list(screen.query(CollapsibleTitle))
            assert len(titles) == len(result.findings)
            for title, finding in zip(titles, result.findings):
                lines = title.render_lines(Region(0, 0, title.region.width, title.region.height))
                shown = _letters(" ".join(line.text for line in lines))
                assert _letters(finding.message) in shown, (step.id, finding.message)
            if result.facts:
                facts = screen.query_one(FactsView)
                assert facts.size.height >= len(facts.children), step.id  # never squeezed to nothing
                for table in facts.query(DataTable):
                    assert table.size.height > 0
                details.scroll_end(animate=False)
                await pilot.pause()
                # At the end of the scroll the facts are on the screen.
                assert facts.region.intersection(details.content_region).height > 0, step.id
            await walk(pilot, "n")


# ---- H: navigation ---------------------------------------------------------------------------

async def test_enter_on_a_focused_back_button_goes_back():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, "enter")
        assert isinstance(app.screen, DiskChoiceScreen)
        app.screen.query_one("#back", Button).focus()
        await walk(pilot, "enter")
        assert isinstance(app.screen, WelcomeScreen)
        await walk(pilot, "enter", "enter", "n", "n", "n")
        assert app.screen.step.id == "sata"
        app.screen.query_one("#back", Button).focus()
        await walk(pilot, "enter")
        assert app.screen.step.id == "ahci"


async def test_apply_is_offered_only_where_the_step_has_a_plan(profile_copy):
    app = wizard(profile_copy())
    async with app.run_test(size=(100, 32)) as pilot:
        await to_step(pilot, "sata")
        assert app.results["sata"].plan is None
        assert not app.screen.query_one("#apply", Button).display
        assert "a" not in app.screen.active_bindings
        await walk(pilot, "a")
        assert isinstance(app.screen, StepScreen)  # no dialog
        await walk(pilot, "n")
        assert app.screen.step.id == "trim" and app.results["trim"].plan is not None
        assert app.screen.query_one("#apply", Button).display and "a" in app.screen.active_bindings
        await walk(pilot, "a")
        assert isinstance(app.screen, ConfirmApplyModal)


async def test_skip_is_recorded_and_shown_in_the_summary():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await to_step(pilot, "trim")
        await walk(pilot, "s")
        assert app.skipped == {"trim"} and app.screen.step.id == "filesystem"
        await to_summary(pilot)
        table = app.screen.query_one("#summary-table", DataTable)
        rows = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[3]) for i in range(table.row_count)}
    assert rows["TRIM"] == "skipped by you" and rows["Mount options"] == ""


async def test_q_asks_before_quitting_after_changes_were_applied(profile_copy):
    app = wizard(profile_copy())
    async with app.run_test(size=(100, 32)) as pilot:
        await to_step(pilot, "trim")
        await walk(pilot, "a", "y", "q")
        assert isinstance(app.screen, QuitModal)
        assert "1 change was applied in this run" in str(app.screen.query_one("#confirm-title").render())
        await walk(pilot, "n")
        assert isinstance(app.screen, StepScreen) and app.is_running
        await walk(pilot, "q", "y")
        assert not app.is_running


async def test_q_without_changes_quits_at_once():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, "enter", "enter", "q")
        assert not app.is_running


async def test_esc_goes_back():
    app = wizard()
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, "enter", "enter", "n", "n", "n", "escape")
        assert app.screen.step.id == "ahci"
        await walk(pilot, "escape", "escape", "escape")
        assert isinstance(app.screen, DiskChoiceScreen)
        await walk(pilot, "escape")
        assert isinstance(app.screen, WelcomeScreen)


@pytest.mark.parametrize("key", ["f1", "question_mark"])
async def test_f1_and_question_mark_open_the_help(key):
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, "enter", "enter", key)
        assert isinstance(app.screen, HelpModal)
        text = str(app.screen.query_one("#help-text").render())
        for shown in ("F1", "the step list", "skip: the summary says you skipped it", "undo the last change"):
            assert shown in text
        await walk(pilot, "escape")
        assert isinstance(app.screen, StepScreen)


async def test_the_step_list_shows_each_status_and_jumps_there():
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, "enter", "enter", "n", "n", "s", "l")  # skip step 3, on step 4
        listing = app.screen
        assert isinstance(listing, StepListModal)
        options = listing.query_one("#step-list")
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[0].strip() == "Disk choice" and prompts[-1].strip() == "Summary"
        assert re.search(r"2\. +Health and wear .* ok$", prompts[2])
        assert re.search(r"3\. +AHCI mode .* ok .*skipped by you", prompts[3])
        assert re.search(r"4\. +SATA link speed .* ok$", prompts[4])
        assert re.search(r"5\. +TRIM .* warn", prompts[5])
        assert re.search(r"10\. Live migration .* warn", prompts[10])
        # the status column lines up from step 1 to step 10
        assert prompts[1].index("ok") == prompts[10].index("warn")
        assert options.highlighted == 4  # where you are: step 4
        await walk(pilot, "down", "down", "down", "enter")  # step 7
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "mount"
        await walk(pilot, "l", "end", "enter")
        assert isinstance(app.screen, SummaryScreen)
