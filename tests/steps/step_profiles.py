"""Machine profiles for the filesystem and mount step tests, from real captures."""

from __future__ import annotations

from pathlib import Path

from ssdwizard.machine.context import ProbeContext
from ssdwizard.system import ProfileSystem
from conftest import FIXTURES

LOOP = FIXTURES / "steps" / "loop-ssd"
LSBLK = ["lsblk", "--json", "--bytes", "--output-all"]
TIMER = ["systemctl", "is-enabled", "fstrim.timer"]


def timer(state: str) -> dict:
    """systemctl is-enabled fstrim.timer as captured in tests/fixtures/systemctl/."""
    base = FIXTURES / "systemctl" / state
    return {"argv": TIMER, "stdout": (base.with_suffix(".stdout")).read_text(),
            "stderr": (base.with_suffix(".stderr")).read_text(), "exit": int((base.with_suffix(".exit")).read_text())}


def loop_profile(make_profile, lsblk: str | None = "lsblk.json", fstab: str | None = None,
                 mountinfo: str | None = None, timer_state: str = "disabled", extra_files: dict | None = None) -> Path:
    """The loop-device capture (sdb: ext4/ext3/swap/xfs partitions, sdc: btrfs) as a profile."""
    commands = [timer(timer_state)]
    if lsblk:
        commands.append({"argv": LSBLK, "stdout_file": (LOOP / lsblk).read_text()})
    files = {"/proc/self/mountinfo": mountinfo if mountinfo is not None else (LOOP / "mountinfo.txt").read_text(),
             "/proc/swaps": (LOOP / "swaps.txt").read_text()}
    files["/etc/fstab"] = fstab if fstab is not None else (LOOP / "fstab").read_text()
    files.update(extra_files or {})
    files = {k: v for k, v in files.items() if v is not False}
    return make_profile(commands=commands, files=files)


def context(profile: Path, disks: tuple[str, ...] | None = ("sdb", "sdc")) -> ProbeContext:
    return ProbeContext(ProfileSystem(profile), chosen_disks=disks)
