"""Issue 13: the mount step's ``fstab`` facts list every fstab entry, in file order, each with
the disk it is on (null where nothing resolves it) and whether that disk is in focus; the
findings and the plan stay on the focus disks' lines.

The machine is the loop-device capture (sdb: ext4/ext3/swap/xfs, sdc: btrfs) with only sdb in
focus, so sdc's two btrfs lines are lines on another disk. Appended to its fstab is libmount's
own test input (tests/fixtures/fstab/util-linux-fstab.comment.txt, source in SOURCES.md there):
comments and blank lines, UUIDs of no filesystem here, tmpfs/devpts/sysfs/proc, an NFS and a
CIFS share, a /dev/mapper path and a /dev path that do not exist here.
"""

from __future__ import annotations

import pytest
from step_profiles import LOOP, context, loop_profile

from conftest import FIXTURES
from ssdwizard.apply.plan import FileEdit
from ssdwizard.data import PROFILES_DIR
from ssdwizard.machine.context import ProbeContext
from ssdwizard.steps import mount
from ssdwizard.system import ProfileSystem

LOOP_FSTAB = (LOOP / "fstab").read_text()  # 8 lines: two comments, then entries on lines 3-8
UTIL_LINUX = (FIXTURES / "fstab" / "util-linux-fstab.comment.txt").read_text()
MIXED = LOOP_FSTAB + UTIL_LINUX  # util-linux's line N is line N + 8 here

# (line, spec, file, disk, focus) of every entry of MIXED, in file order.
MIXED_ENTRIES = [
    (3, "UUID=eacd632d-0994-4fdd-bcf9-aecaa2cdbe90", "/mnt/ssdw/data", "sdb", True),
    (4, "LABEL=oldroot", "/mnt/ssdw/old", "sdb", True),
    (5, "/dev/sdb3", "none", "sdb", True),
    (6, "PARTUUID=ccbe7d07-4ba3-c54d-bb01-27673659d443", "/mnt/ssdw/xfs", "sdb", True),
    (7, "UUID=ef8338ef-a4c3-41e6-aaf6-329985976a49", "/mnt/ssdw/btrfs", "sdc", False),
    (8, "LABEL=ssdbtrfs", "/mnt/ssdw/btrfs-data", "sdc", False),
    # A UUID lsblk does not know, though "/" is mounted (from vda): not tied by its mount point.
    (14, "UUID=d3a8f783-df75-4dc8-9163-975a891052c0", "/", None, False),
    (15, "UUID=fef7ccb3-821c-4de8-88dc-71472be5946f", "/boot", None, False),
    (19, "UUID=1f2aa318-9c34-462e-8d29-260819ffd657", "swap", None, False),
    (20, "tmpfs", "/dev/shm", None, False),
    (21, "devpts", "/dev/pts", None, False),
    (22, "sysfs", "/sys", None, False),
    (23, "proc", "/proc", None, False),
    (25, "/dev/mapper/foo", "/home/foo", None, False),
    (26, "foo.com:/mnt/share", "/mnt/remote", None, False),
    (27, "//bar.com/gogogo", "/mnt/gogogo", None, False),
    (28, "/dev/foo", "/any/foo/", None, False),
]
FOCUS_LINES = {3, 4, 5, 6}


def rows(result) -> list[tuple]:
    return [(e["line"], e["spec"], e["file"], e["disk"], e["focus"]) for e in result.facts["fstab"]]


def fstab_lines_cited(result) -> set[int]:
    """The fstab line numbers any finding gives as evidence."""
    return {int(e.source.rsplit(":", 1)[1]) for f in result.findings for e in f.evidence
            if e.source.startswith("/etc/fstab:")}


def test_every_entry_in_file_order_with_its_disk_or_null(make_profile):
    result = mount.probe(context(loop_profile(make_profile, fstab=MIXED), disks=("sdb",)))
    assert rows(result) == MIXED_ENTRIES
    # The other columns are the line's own, as they were (options not normalised).
    by_line = {e["line"]: e for e in result.facts["fstab"]}
    assert by_line[26] == {"line": 26, "spec": "foo.com:/mnt/share", "file": "/mnt/remote", "vfstype": "nfs",
                           "options": ["noauto"], "dump": None, "pass": None, "disk": None, "focus": False}
    assert by_line[7]["options"] == ["discard"] and by_line[7]["vfstype"] == "btrfs"


def test_findings_cite_only_focus_lines_and_match_the_plain_fstab(make_profile):
    result = mount.probe(context(loop_profile(make_profile, fstab=MIXED), disks=("sdb",)))
    assert fstab_lines_cited(result) == FOCUS_LINES - {5}  # line 5 is swap: no options to judge
    # sdc's btrfs has plain 'discard' (= discard=sync): out of focus, so no finding about it.
    assert not [f for f in result.findings if "btrfs" in f.subject or "discard=sync" in f.message]
    # Appending lines on no focus disk changes no finding, status or summary.
    plain = mount.probe(context(loop_profile(make_profile, fstab=LOOP_FSTAB), disks=("sdb",)))
    assert result.findings == plain.findings
    assert (result.status, result.summary) == (plain.status, plain.summary)


def test_the_plan_edits_only_focus_lines(make_profile):
    result = mount.probe(context(loop_profile(make_profile, fstab=MIXED), disks=("sdb",)))
    assert [e.number for e in result.observed.focus] == sorted(FOCUS_LINES)
    plan = mount.plan(result, {})
    assert plan is not None and len(plan.changes) == 1
    [edit] = plan.changes
    assert isinstance(edit, FileEdit) and edit.before == MIXED
    before, after = MIXED.splitlines(keepends=True), edit.after.splitlines(keepends=True)
    assert len(before) == len(after)
    assert {n for n, (old, new) in enumerate(zip(before, after), 1) if old != new} == {3, 4, 6}
    # The same edit as on the fstab without the appended lines, whose bytes stay as they were.
    plain = mount.probe(context(loop_profile(make_profile, fstab=LOOP_FSTAB), disks=("sdb",)))
    plain_plan = mount.plan(plain, {})
    assert plain_plan is not None
    assert edit.after == plain_plan.changes[0].after + UTIL_LINUX
    assert (plan.warnings, plan.notes) == (plain_plan.warnings, plain_plan.notes)


def test_without_udev_other_disk_lines_resolve_through_their_live_mount(make_profile):
    # The raw capture: lsblk printed no UUIDs or labels, so sdc's UUID= and LABEL= lines are
    # tied to sdc by the live mount at their mount point (btrfs: by its source, /dev/sdc).
    fstab = LOOP_FSTAB + "tmpfs /tmp tmpfs defaults 0 0\n/swapfile none swap sw 0 0\n"
    result = mount.probe(context(loop_profile(make_profile, lsblk="lsblk-no-udev.json", fstab=fstab),
                                 disks=("sdb",)))
    assert [(line, disk, focus) for line, _, _, disk, focus in rows(result)] == [
        (3, "sdb", True), (4, "sdb", True), (5, "sdb", True), (6, "sdb", True),
        (7, "sdc", False), (8, "sdc", False), (9, None, False), (10, None, False)]


@pytest.mark.parametrize("name, expected", [
    # pve-ceph-node: the backup HDD (sdd) is not in focus; proc is on no disk.
    ("pve-ceph-node", [(2, "/", "sda", True), (3, "/boot/efi", "sda", True), (4, "none", "sda", True),
                       (5, "/proc", None, False), (7, "/mnt/backup", "sdd", False)]),
    # legacy-ide: proc and a tmpfs on no disk, between the root and swap lines.
    ("legacy-ide", [(8, "/proc", None, False), (10, "/", "sda", True), (12, "none", "sda", True),
                    (13, "/run/lock", None, False)]),
])
def test_demo_profiles_list_every_line(name, expected):
    result = mount.probe(ProbeContext(ProfileSystem(PROFILES_DIR / name)))
    assert [(line, file, disk, focus) for line, _, file, disk, focus in rows(result)] == expected
    focus = {line for line, _, _, on_focus in expected if on_focus}
    assert fstab_lines_cited(result) <= focus
    plan = mount.plan(result, {})
    if plan is not None:
        for edit in plan.changes:
            assert isinstance(edit, FileEdit)
            before, after = edit.before.splitlines(), edit.after.splitlines()
            assert {n for n, (old, new) in enumerate(zip(before, after), 1) if old != new} <= focus
