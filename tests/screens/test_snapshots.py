"""Every screen as a snapshot: on the Proxmox demo at 100x32, the disk choice, ahci and sata
screens on the NVMe and IDE demos, a few at 80x24 (a serial console or IPMI), the same in
console mode (TERM=linux, vt220, a C locale: ASCII, 16 colours), and the too-small notice."""

from __future__ import annotations

import pytest

from wizard_helpers import TO_DISK_CHOICE, TO_STEP, TO_SUMMARY, settle, wizard
from ssdwizard.steps import STEP_IDS


def walker(keys):
    async def run_before(pilot):
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_welcome(snap_compare):
    assert snap_compare(wizard(), terminal_size=(100, 32), run_before=walker([]))


def test_disk_choice(snap_compare):
    assert snap_compare(wizard(), terminal_size=(100, 32), run_before=walker(TO_DISK_CHOICE))


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_step(snap_compare, step_id):
    assert snap_compare(wizard(), terminal_size=(100, 32), run_before=walker(TO_STEP[step_id]))


def test_confirm_apply_dialog(snap_compare):
    # TRIM: the plan enables fstrim.timer.
    assert snap_compare(wizard(), terminal_size=(100, 32), run_before=walker([*TO_STEP["trim"], "a"]))


def test_summary(snap_compare):
    assert snap_compare(wizard(), terminal_size=(100, 32), run_before=walker(TO_SUMMARY))


@pytest.mark.parametrize("profile", ["nvme-workstation", "legacy-ide"])
@pytest.mark.parametrize("screen", ["disk-choice", "ahci", "sata"])
def test_other_machines(snap_compare, profile, screen):
    keys = {"disk-choice": TO_DISK_CHOICE, "ahci": TO_STEP["ahci"], "sata": TO_STEP["sata"]}[screen]
    assert snap_compare(wizard(profile), terminal_size=(100, 32), run_before=walker(keys))


@pytest.mark.parametrize("screen", ["welcome", "disk-choice", "trim", "confirm", "migration"])
def test_console_80x24(snap_compare, screen):
    keys = {"welcome": [], "disk-choice": TO_DISK_CHOICE, "trim": TO_STEP["trim"], "confirm": [*TO_STEP["trim"], "a"],
            "migration": TO_STEP["migration"]}[screen]
    assert snap_compare(wizard(), terminal_size=(80, 24), run_before=walker(keys))


def test_light_theme(snap_compare):
    async def light(pilot):
        pilot.app.theme = "textual-light"
        await walker(TO_STEP["ahci"])(pilot)

    assert snap_compare(wizard("legacy-ide"), terminal_size=(100, 32), run_before=light)


CONSOLE = {"welcome": [], "disk-choice": TO_DISK_CHOICE, "sata": TO_STEP["sata"], "mount": TO_STEP["mount"],
           "migration": TO_STEP["migration"], "confirm": [*TO_STEP["trim"], "a"], "summary": TO_SUMMARY,
           "step-list": [*TO_STEP["mount"], "l"], "help": [*TO_STEP["disks"], "f1"]}


@pytest.mark.parametrize("screen", list(CONSOLE))
def test_console_mode_80x24(snap_compare, screen):
    assert snap_compare(wizard(console=True), terminal_size=(80, 24), run_before=walker(CONSOLE[screen]))


def test_terminal_too_small(snap_compare):
    assert snap_compare(wizard(), terminal_size=(60, 20), run_before=walker([]))
