"""The mount step's plan: the fstab edit for the focus disks' lines, on the demo profiles, the
loop-device capture and the fstab corpus. Every test compares bytes: the plan may change the
options column of the lines it means to and nothing else."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from step_profiles import LOOP, context, loop_profile

from conftest import FIXTURES
from ssdwizard.apply.plan import FILE_PLACEHOLDER, FileEdit, Plan
from ssdwizard.data import PROFILES_DIR
from ssdwizard.parsers import fstab as fstab_parser
from ssdwizard.parsers.systemctl import UnitFileState
from ssdwizard.steps import mount
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, StepResult
from ssdwizard.system import ProfileSystem

LOOP_FSTAB = (LOOP / "fstab").read_text()
# The loop capture's fstab lines by number (3 data ext4, 4 old ext3, 5 swap, 6 xfs, 7 btrfs,
# 8 btrfs subvolume) and what the default plan makes of their options.
LOOP_DEFAULT = {3: "noatime", 4: "defaults,noatime", 6: "noatime", 7: "discard=async,noatime"}


def changed_lines(before: str, after: str) -> dict[int, str]:
    """Line number (1-based) -> new line, for a diff that only replaces lines one for one.
    Fails on any insertion, deletion or change in the number of lines."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    changed: dict[int, str] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert tag == "replace" and i2 - i1 == j2 - j1, f"{tag} {old[i1:i2]!r} -> {new[j1:j2]!r}"
        changed.update({i1 + k + 1: new[j1 + k] for k in range(i2 - i1)})
    return changed


def assert_options_only(before_line: str, after_line: str, options: str) -> None:
    """The new line is the old one with only its options field (and the blanks right after it,
    for an aligned table) changed, its line ending included."""
    old = fstab_parser.parse(before_line).lines[0]
    new = fstab_parser.parse(after_line).lines[0]
    assert isinstance(old, fstab_parser.FstabEntry) and isinstance(new, fstab_parser.FstabEntry)
    assert new.tokens[3] == options
    assert new.tokens[:3] + new.tokens[4:] == old.tokens[:3] + old.tokens[4:]
    assert new.gaps[:4] + new.gaps[5:] == old.gaps[:4] + old.gaps[5:]
    assert new.ending == old.ending


def the_edit(plan: Plan | None) -> FileEdit:
    assert plan is not None and len(plan.changes) == 1
    [edit] = plan.changes
    assert isinstance(edit, FileEdit) and edit.path == "/etc/fstab"
    return edit


def demo(name: str, root: Path | None = None):
    result = mount.probe(ProbeContext(ProfileSystem(root or PROFILES_DIR / name)))
    return result, mount.plan(result, {})


def copy_profile(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROFILES_DIR / name, target, symlinks=True)
    return target


# --- the demo profiles ------------------------------------------------------------------------

DEMO_EXPECTED = {
    # Proxmox: / on LVM gets noatime; the ESP (vfat), swap, proc and the HDD's /mnt/backup stay.
    "pve-ceph-node": ({2: "errors=remount-ro,noatime"}, ["/"]),
    # Arch: relatime is replaced in place, the tab-separated columns stay; vfat /boot stays.
    "nvme-workstation": ({6: "rw,noatime", 9: "rw,noatime", 18: "defaults,noatime"},
                         ["/", "/home", "/run/media/luca_s/Data-2TB"]),
    "legacy-ide": ({10: "errors=remount-ro,usrquota,grpquota,acl,user_xattr,noatime"}, ["/"]),
}


@pytest.mark.parametrize("name", sorted(DEMO_EXPECTED))
def test_demo_profile_diff_changes_exactly_the_intended_lines(name):
    expected, remounts = DEMO_EXPECTED[name]
    result, plan = demo(name)
    edit = the_edit(plan)
    before = (PROFILES_DIR / name / "root" / "etc" / "fstab").read_text()
    assert edit.before == before
    changed = changed_lines(before, edit.after)
    assert sorted(changed) == sorted(expected)
    old_lines = before.splitlines(keepends=True)
    for number, options in expected.items():
        assert_options_only(old_lines[number - 1], changed[number], options)
    assert edit.validate == ("findmnt", "--verify", "--tab-file", FILE_PLACEHOLDER)
    assert edit.then == (("systemctl", "daemon-reload"), *(("mount", "-o", "remount", t) for t in remounts))
    assert edit.why == "; ".join(
        f"{t}: {'relatime → noatime' if 'rw,noatime' == expected[n] else 'add noatime'}"
        for n, t in zip(sorted(expected), remounts))
    assert plan.warnings == ()  # no discard, no commit= on these lines
    assert any("If the kernel refuses to remount /" in note for note in plan.notes)


def test_demo_pve_leaves_efi_swap_and_the_hdd_alone():
    _, plan = demo("pve-ceph-node")
    after = the_edit(plan).after.splitlines()
    assert "UUID=8F2A-1C3B /boot/efi vfat defaults 0 1" in after
    assert "/dev/pve/swap none swap sw 0 0" in after
    assert "UUID=7b2e9f41-6c3d-4a58-8e1f-0d9c4b7a2e65 /mnt/backup ext4 defaults 0 2" in after


def test_demo_nvme_keeps_tabs_and_aligned_blanks_byte_for_byte():
    _, plan = demo("nvme-workstation")
    after = the_edit(plan).after
    assert "UUID=574d792a-bad6-4562-9041-b2253bf90656\t/         \text4      \trw,noatime\t0 1\n" in after
    assert "/dev/nvme1n1p1      \t/run/media/luca_s/Data-2TB ext4 defaults,noatime 0 2\n" in after
    assert after.endswith("defaults,noatime 0 2\n")


def test_demo_vm_virtio_has_no_entry_and_plans_nothing():
    result, plan = demo("vm-virtio")
    assert plan is None
    assert result.observed.fstab.render() == "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n"
    assert result.observed.focus == ()


@pytest.mark.parametrize("name", sorted(DEMO_EXPECTED) + ["vm-virtio"])
def test_demo_profile_applied_then_probed_again_plans_nothing(name, tmp_path):
    root = copy_profile(name, tmp_path)
    _, plan = demo(name, root)
    if name in DEMO_EXPECTED:
        (root / "root" / "etc" / "fstab").write_bytes(the_edit(plan).after.encode())
    again = mount.probe(ProbeContext(ProfileSystem(root)))
    assert mount.plan(again, {}) is None
    assert mount.plan(again, {"mount.discard": "keep", "mount.commit": "keep"}) is None


def test_timer_state_is_observed_in_every_demo():
    states = {name: demo(name)[0].observed.timer for name in DEMO_EXPECTED}
    assert states == {"pve-ceph-node": UnitFileState.DISABLED, "nvme-workstation": UnitFileState.ENABLED,
                      "legacy-ide": UnitFileState.DISABLED}


@pytest.mark.parametrize("name", sorted(DEMO_EXPECTED))
def test_the_plan_reads_observed_not_facts(name):
    """The planner's whole input is ``observed``: emptied facts plan the same; no observed, no plan."""
    result, plan = demo(name)
    assert isinstance(result.observed, mount.Observed)
    assert mount.plan(replace(result, facts={}, findings=()), {}) == plan
    assert mount.plan(replace(result, observed=None), {}) is None


def test_a_skipped_result_observes_nothing_and_plans_nothing(make_profile):
    result = mount.probe(context(loop_profile(make_profile), disks=()))
    assert result.status is Status.SKIP and result.observed is None
    assert mount.plan(result, {}) is None


def test_an_observed_built_by_hand_plans_its_lines():
    """Observed is the planner's contract: a hand-made one plans without any probe."""
    document = fstab_parser.parse("# root\n/dev/sda1 / ext4 relatime,discard 0 1\n/dev/sda2 none swap sw 0 0\n")
    observed = mount.Observed(fstab=document, focus=document.entries, mounted=("/",),
                              timer=UnitFileState.ENABLED, kernel="6.8.12-4-pve")
    result = StepResult(mount.ID, mount.TITLE, Status.WARN, "", observed=observed)
    edit = the_edit(mount.plan(result, {}))
    assert changed_lines(edit.before, edit.after) == {2: "/dev/sda1 / ext4 noatime 0 1\n"}
    assert edit.then == (("systemctl", "daemon-reload"), ("mount", "-o", "remount,nodiscard", "/"))
    unmounted = replace(observed, mounted=None, timer=UnitFileState.NO_SYSTEMD)
    plan = mount.plan(replace(result, observed=unmounted), {})
    assert the_edit(plan).then == ()
    assert "The live mounts are unknown: remount the changed mount points by hand, or reboot." in plan.notes


# --- the loop-device capture --------------------------------------------------------------------

def loop_plan(make_profile, choices=None, **profile):
    result = mount.probe(context(loop_profile(make_profile, **profile)))
    return result, mount.plan(result, choices or {})


def test_loop_default_plan_changes_four_lines(make_profile):
    result, plan = loop_plan(make_profile)
    edit = the_edit(plan)
    assert edit.before == LOOP_FSTAB
    changed = changed_lines(LOOP_FSTAB, edit.after)
    assert sorted(changed) == sorted(LOOP_DEFAULT)  # not the swap (5, sw,discard), not the subvolume (8)
    old = LOOP_FSTAB.splitlines(keepends=True)
    for number, options in LOOP_DEFAULT.items():
        assert_options_only(old[number - 1], changed[number], options)
    # The aligned table: the dump column stays where it was where the blanks allow it.
    assert changed[4] == ("LABEL=oldroot                               /mnt/ssdw/old        "
                          "ext3   defaults,noatime           0 2\n")
    assert edit.why == ("/mnt/ssdw/data: drop discard (weekly fstrim.timer instead), drop commit=600 (default 5 s); "
                        "/mnt/ssdw/old: add noatime; /mnt/ssdw/xfs: drop discard (weekly fstrim.timer instead); "
                        "/mnt/ssdw/btrfs: add noatime, discard → discard=async")


def test_loop_remounts_name_what_a_bare_remount_would_keep(make_profile):
    _, plan = loop_plan(make_profile)
    assert the_edit(plan).then == (
        ("systemctl", "daemon-reload"),
        # ext4 keeps discard and commit=600 over a bare remount (seen on a loop device): say the defaults.
        ("mount", "-o", "remount,nodiscard,commit=0", "/mnt/ssdw/data"),
        ("mount", "-o", "remount", "/mnt/ssdw/old"),
        # no remount for /mnt/ssdw/xfs: XFS ignores discard on remount, and noatime was already live
        ("mount", "-o", "remount", "/mnt/ssdw/btrfs"),
    )
    assert any("XFS ignores discard on remount: /mnt/ssdw/xfs" in note for note in plan.notes)
    assert any("nodiscard, commit=0" in note for note in plan.notes)


def test_loop_timer_state_decides_warning_or_note(make_profile):
    _, disabled = loop_plan(make_profile, timer_state="disabled")
    [warning] = [w for w in disabled.warnings if "fstrim.timer" in w]
    assert "it is disabled now" in warning and "systemctl enable --now fstrim.timer" in warning
    _, enabled = loop_plan(make_profile, timer_state="enabled")
    assert not any("fstrim.timer" in w for w in enabled.warnings)
    assert "Without 'discard' the weekly fstrim.timer trims these filesystems; it is enabled now." in enabled.notes
    _, none = loop_plan(make_profile, timer_state="no-systemd")
    assert ("systemctl", "daemon-reload") not in the_edit(none).then
    assert the_edit(none).then[0] == ("mount", "-o", "remount,nodiscard,commit=0", "/mnt/ssdw/data")


@pytest.mark.parametrize("choices, expected, commit_warning", [
    ({"mount.discard": "keep", "mount.commit": "keep"},
     {4: "defaults,noatime", 7: "discard,noatime"}, True),
    ({"mount.discard": "keep"},
     {3: "noatime,discard", 4: "defaults,noatime", 7: "discard,noatime"}, False),
    ({"mount.commit": "keep"},
     {3: "noatime,commit=600", 4: "defaults,noatime", 6: "noatime", 7: "discard=async,noatime"}, True),
    ({"mount.discard": "timer", "mount.commit": "remove"}, LOOP_DEFAULT, False),
])
def test_loop_choices_keep_and_remove(make_profile, choices, expected, commit_warning):
    _, plan = loop_plan(make_profile, choices)
    changed = changed_lines(LOOP_FSTAB, the_edit(plan).after)
    assert {n: fstab_parser.parse(line).entries[0].tokens[3] for n, line in changed.items()} == expected
    warned = [w for w in plan.warnings if w.startswith("commit=600 stays on /mnt/ssdw/data")]
    assert warned == (["commit=600 stays on /mnt/ssdw/data: up to 10 minutes of changes can be lost on power "
                       "loss (the default is 5 seconds)."] if commit_warning else [])


def test_an_unknown_choice_is_an_error_not_a_guess(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    with pytest.raises(ValueError, match="mount.discard='online'"):
        mount.plan(result, {"mount.discard": "online"})


@pytest.mark.parametrize("choices", [{}, {"mount.discard": "keep", "mount.commit": "keep"}, {"mount.commit": "keep"}])
def test_loop_applied_then_probed_again_plans_nothing(make_profile, choices):
    _, plan = loop_plan(make_profile, choices)
    after = the_edit(plan).after
    _, again = loop_plan(make_profile, choices, fstab=after)
    assert again is None


def test_the_plan_reads_nothing_but_the_result(make_profile):
    profile = loop_profile(make_profile)
    result = mount.probe(context(profile))
    shutil.rmtree(profile)  # the machine is gone: a pure planner does not notice
    planned = mount.plan(result, {})
    assert the_edit(planned).before == LOOP_FSTAB
    # nor does it read the public facts: the loop plan's warnings and notes come from observed too
    assert mount.plan(replace(result, facts={}, findings=()), {}) == planned
    assert planned.warnings and planned.notes


def test_commit_at_or_below_the_default_stays_without_a_warning(make_profile):
    fstab = (LOOP_FSTAB.replace("noatime,discard,commit=600", "noatime,commit=5          ")
             .replace("btrfs  noatime,subvol=@data      ", "btrfs  noatime,subvol=@data,commit=30"))
    _, plan = loop_plan(make_profile, fstab=fstab)
    changed = changed_lines(fstab, the_edit(plan).after)
    assert 3 not in changed and 8 not in changed
    assert not any("commit" in w for w in plan.warnings)
    assert not any("commit=0" in argv[2] for argv in the_edit(plan).then if argv[0] == "mount")


def test_a_stale_result_edits_no_line_it_did_not_probe(make_profile):
    """An Observed whose lines no longer sit where its fstab has them (text shifted by a line)
    must not edit whatever line now sits there."""
    result = mount.probe(context(loop_profile(make_profile)))
    moved = replace(result.observed, fstab=fstab_parser.parse("# added since\n" + LOOP_FSTAB))
    assert mount.plan(replace(result, observed=moved), {}) is None


def test_nodiratime_stays_and_atime_words_give_way(make_profile):
    fstab = (LOOP_FSTAB.replace("ext3   defaults                   0 2", "ext3   relatime,nodiratime,strictatime 0 2")
             .replace("ext4   noatime,discard,commit=600", "ext4   atime,noatime,discard,commit=600"))
    _, plan = loop_plan(make_profile, fstab=fstab)
    changed = changed_lines(fstab, the_edit(plan).after)
    assert changed[4].split()[3] == "noatime,nodiratime"  # in relatime's place; strictatime dropped
    assert changed[3].split()[3] == "noatime"  # atime would have cleared noatime
    assert "/mnt/ssdw/old: relatime → noatime, drop strictatime" in the_edit(plan).why
    assert "/mnt/ssdw/data: drop atime, drop discard" in the_edit(plan).why


# --- btrfs ----------------------------------------------------------------------------------------

def test_btrfs_sync_discard_becomes_async_and_async_is_left(make_profile):
    fstab = LOOP_FSTAB.replace("btrfs  discard                    0 0", "btrfs  noatime,discard=sync       0 0")
    _, plan = loop_plan(make_profile, fstab=fstab)
    changed = changed_lines(fstab, the_edit(plan).after)
    assert changed[7].split()[3] == "noatime,discard=async"
    assert "/mnt/ssdw/btrfs: discard=sync → discard=async" in the_edit(plan).why
    assert any("since 6.2" in note for note in plan.notes)
    done = fstab.replace("noatime,discard=sync", "noatime,discard=async")
    _, again = loop_plan(make_profile, fstab=done)
    assert 7 not in changed_lines(done, the_edit(again).after)


def test_btrfs_on_a_kernel_without_async_discard_keeps_discard(make_profile):
    _, plan = loop_plan(make_profile, extra_files={"/proc/sys/kernel/osrelease": "5.4.0-150-generic\n"})
    changed = changed_lines(LOOP_FSTAB, the_edit(plan).after)
    assert changed[7].split()[3] == "discard,noatime"
    assert ("/mnt/ssdw/btrfs: kernel 5.4.0-150-generic is older than 5.6 and has no discard=async, so btrfs keeps "
            "its synchronous 'discard'.") in plan.warnings
    _, new_kernel = loop_plan(make_profile, extra_files={"/proc/sys/kernel/osrelease": "6.8.12-4-pve\n"})
    assert changed_lines(LOOP_FSTAB, the_edit(new_kernel).after)[7].split()[3] == "discard=async,noatime"


def test_btrfs_commit_above_thirty_seconds(make_profile):
    fstab = LOOP_FSTAB.replace("btrfs  noatime,subvol=@data      ", "btrfs  noatime,subvol=@data,commit=120")
    _, plan = loop_plan(make_profile, fstab=fstab)
    assert changed_lines(fstab, the_edit(plan).after)[8].split()[3] == "noatime,subvol=@data"
    assert ("mount", "-o", "remount,commit=0", "/mnt/ssdw/btrfs-data") in the_edit(plan).then
    _, kept = loop_plan(make_profile, {"mount.commit": "keep"}, fstab=fstab)
    assert any(w.startswith("commit=120 stays on /mnt/ssdw/btrfs-data: up to 2 minutes")
               and "default is 30 seconds" in w for w in kept.warnings)


# --- the corpus: other people's files around the focus lines --------------------------------------

CORPUS = ["fstab-02.txt", "fstab-04.txt", "fstab-06.txt", "fstab-08.txt", "fstab-10.txt",
          "util-linux-fstab.comment.txt", "fstab-this-machine.txt"]
FOCUS_LINES = LOOP_FSTAB.splitlines(keepends=True)[2:]


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_lines_stay_byte_for_byte(make_profile, name):
    corpus = (FIXTURES / "fstab" / name).read_bytes().decode()
    text = corpus + "".join(FOCUS_LINES)
    result, plan = loop_plan(make_profile, fstab=text)
    offset = len(corpus.splitlines()) - 2  # the loop lines without their two comment lines
    assert [entry.number - offset for entry in result.observed.focus] == [3, 4, 5, 6, 7, 8]
    changed = changed_lines(text, the_edit(plan).after)
    assert sorted(changed) == [n + offset for n in sorted(LOOP_DEFAULT)]
    assert the_edit(plan).after.startswith(corpus)


def test_crlf_escapes_and_no_final_newline(make_profile):
    """A Windows-edited fstab, a mount point with a space, and the changed line last with no newline."""
    lines = [line.rstrip("\n") for line in FOCUS_LINES]
    lines[1] = lines[1].replace("/mnt/ssdw/old       ", "/mnt/ssdw/old\\040disk")
    btrfs = lines.pop(4)
    text = "# edited on Windows\r\n" + "\r\n".join(lines) + "\r\n" + btrfs
    mountinfo = (LOOP / "mountinfo.txt").read_text().replace(" /mnt/ssdw/old ", " /mnt/ssdw/old\\040disk ")
    result, plan = loop_plan(make_profile, fstab=text, mountinfo=mountinfo)
    edit = the_edit(plan)
    changed = changed_lines(text, edit.after)
    assert sorted(changed) == [2, 3, 5, 7]
    assert changed[3] == ("LABEL=oldroot                               /mnt/ssdw/old\\040disk "
                          "ext3   defaults,noatime           0 2\r\n")
    # the last line, no newline: the blanks after the options shrink to keep the dump column
    assert changed[7] == ("UUID=ef8338ef-a4c3-41e6-aaf6-329985976a49   /mnt/ssdw/btrfs      "
                          "btrfs  discard=async,noatime      0 0")
    assert not edit.after.endswith("\n") and edit.after.count("\r\n") == text.count("\r\n")
    # The remount names the real path; fstab keeps its escape.
    assert ("mount", "-o", "remount", "/mnt/ssdw/old disk") in edit.then
    assert "/mnt/ssdw/old disk: add noatime" in edit.why
    _, again = loop_plan(make_profile, fstab=edit.after, mountinfo=mountinfo)
    assert again is None


# --- refusals -------------------------------------------------------------------------------------

def test_a_mount_point_named_twice_is_refused_and_said(make_profile):
    duplicate = "/dev/sdb2 /mnt/ssdw/old ext3 relatime 0 2\n"
    text = LOOP_FSTAB + duplicate
    result, plan = loop_plan(make_profile, fstab=text)
    changed = changed_lines(text, the_edit(plan).after)
    assert sorted(changed) == [3, 6, 7]  # neither line 4 nor line 9; the rest is still planned
    assert ("/mnt/ssdw/old is named by lines 4, 9 of /etc/fstab: the wizard does not edit an ambiguous line "
            "(the later one wins at boot). Remove the line that is not meant and plan again.") in plan.warnings
    [finding] = [f for f in result.findings if "named by lines 4, 9" in f.message]
    assert finding.status is Status.WARN and [e.source for e in finding.evidence] == ["/etc/fstab:4", "/etc/fstab:9"]


def test_only_ambiguous_lines_give_an_empty_plan_with_the_warning(make_profile):
    text = "".join(FOCUS_LINES[1:2]) + "/dev/sdb2 /mnt/ssdw/old ext3 relatime 0 2\n"
    _, plan = loop_plan(make_profile, fstab=text)
    assert plan is not None and plan.empty
    assert plan.warnings and "named by lines 1, 2" in plan.warnings[0]


def test_an_empty_plan_says_why_in_apply_the_report_and_its_json(make_profile, capsys):
    # The runner used to drop a plan without changes, and its warning with it: --apply said only
    # "nothing to change".
    from ssdwizard.cli import main

    profile = str(loop_profile(make_profile, fstab="".join(FOCUS_LINES[1:2]) + "/dev/sdb2 /mnt/ssdw/old ext3 relatime 0 2\n"))
    why = ("/mnt/ssdw/old is named by lines 1, 2 of /etc/fstab: the wizard does not edit an ambiguous line "
           "(the later one wins at boot). Remove the line that is not meant and plan again.")
    assert main(["--apply", "mount", "--disk", "sdb,sdc", "--machine", profile]) == 0  # nothing to apply
    out = capsys.readouterr().out
    assert out.startswith("== Mount options (mount): nothing to change. ")
    assert f"\nWARNING: {why}\n" in out
    assert main(["--apply", "mount", "--disk", "sdb,sdc", "--machine", profile, "--yes"]) == 0
    assert f"\nWARNING: {why}\n" in capsys.readouterr().out

    assert main(["--headless", "--steps", "mount", "--disk", "sdb,sdc", "--machine", profile, "--format", "json"]) == 1
    [step] = json.loads(capsys.readouterr().out)["steps"]
    assert step["plan"] is None and step["status"] == "warn"
    assert {"status": "warn", "subject": "plan", "message": why, "advice": "", "evidence": []} in step["findings"]
    for fmt in ("text", "markdown"):
        main(["--headless", "--steps", "mount", "--disk", "sdb,sdc", "--machine", profile, "--format", fmt])
        assert "the wizard does not edit an ambiguous line" in " ".join(capsys.readouterr().out.split())


def test_malformed_lines_are_never_touched(make_profile):
    broken = ("/dev/sdb1 /mnt/ssdw/data ext4 relatime,discard zero 2\n"  # dump is not a number
              "LABEL=oldroot /mnt/ssdw/old\n"                             # two fields
              "/dev/sdb4 /mnt/ssdw/xfs xfs discard 0 2 extra\n")         # seven fields
    text = LOOP_FSTAB + broken
    _, plan = loop_plan(make_profile, fstab=text)
    changed = changed_lines(text, the_edit(plan).after)
    assert sorted(changed) == sorted(LOOP_DEFAULT)
    assert the_edit(plan).after.endswith(broken)


def test_no_focus_line_plans_nothing(make_profile):
    other = (FIXTURES / "fstab" / "fstab-10.txt").read_text()
    result, plan = loop_plan(make_profile, fstab=other)
    assert result.observed.focus == () and plan is None
    result, plan = loop_plan(make_profile, extra_files={"/etc/fstab": False})
    assert result.observed is None and plan is None  # no fstab: nothing to edit, nothing observed


# --- findmnt --verify on the real candidate ------------------------------------------------------

def findmnt_verify(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """``findmnt --verify --verbose``: each target's checks in file order, and the stderr lines
    (parse errors and the summary)."""
    done = subprocess.run(["findmnt", "--verify", "--verbose", "--tab-file", str(path)],
                          capture_output=True, text=True, timeout=30, check=False)
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in done.stdout.splitlines():
        if line and not line.startswith(" "):
            current = blocks.setdefault(f"{len(blocks)}:{line}", [])
        elif line.strip():
            current.append(line.strip())
    return blocks, [line.replace(str(path), "FILE") for line in done.stderr.splitlines() if line]


needs_findmnt = pytest.mark.skipif(shutil.which("findmnt") is None, reason="findmnt (util-linux) not installed")


def _problems(blocks: dict[str, list[str]]) -> dict[str, list[str]]:
    return {target: [c for c in checks if c.startswith(("[E]", "[W]"))] for target, checks in blocks.items()}


@needs_findmnt
@pytest.mark.parametrize("case", ["pve-ceph-node", "nvme-workstation", "legacy-ide", "loop", "corpus-10"])
def test_findmnt_reads_the_candidate_as_intended(make_profile, tmp_path, case):
    """findmnt checks syntax and, on this machine, that sources and targets exist: the demo's
    devices don't, so it reports them before and after alike. Passing means: the same targets in
    the same order, the same parse errors and problems as the file had before (the edit added
    none), and the new options read back as VFS/FS options the way the plan meant them."""
    if case == "loop":
        _, plan = loop_plan(make_profile)
    elif case == "corpus-10":
        corpus = (FIXTURES / "fstab" / "fstab-10.txt").read_text()
        _, plan = loop_plan(make_profile, fstab=corpus + "".join(FOCUS_LINES))
    else:
        _, plan = demo(case)
    edit = the_edit(plan)
    (tmp_path / "before").write_bytes(edit.before.encode())
    (tmp_path / "after").write_bytes(edit.after.encode())
    before, before_err = findmnt_verify(tmp_path / "before")
    after, after_err = findmnt_verify(tmp_path / "after")
    assert list(after) == list(before)
    assert after_err == before_err
    assert after_err[-1].startswith("0 parse errors, ")  # findmnt read every line of the candidate
    assert _problems(after) == _problems(before)
    document = fstab_parser.parse(edit.after)
    for number in changed_lines(edit.before, edit.after):
        entry = document.lines[number - 1]
        [checks] = [c for t, c in after.items() if t.split(":", 1)[1] == entry.mount_point]
        vfs = next((c for c in checks if c.startswith("[ ] VFS options: ")), "")
        fs = next((c for c in checks if c.startswith("[ ] FS options: ")), "")
        assert "noatime" in vfs.split(": ", 1)[1].split(",")
        assert "relatime" not in vfs and "discard" not in fs.replace("discard=async", "")


@needs_findmnt
def test_findmnt_sees_the_duplicate_the_plan_refuses(make_profile, tmp_path):
    text = LOOP_FSTAB + "/dev/sdb2 /mnt/ssdw/old ext3 relatime 0 2\n"
    _, plan = loop_plan(make_profile, fstab=text)
    (tmp_path / "after").write_text(the_edit(plan).after)
    blocks, _ = findmnt_verify(tmp_path / "after")
    [first, _second] = [checks for target, checks in blocks.items() if target.endswith(":/mnt/ssdw/old")]
    assert "[W] target specified more than once" in first


@needs_findmnt
def test_findmnt_comparison_catches_a_broken_candidate(tmp_path):
    """The check above can fail: a candidate whose options field gained a blank is a parse error."""
    _, plan = demo("pve-ceph-node")
    edit = the_edit(plan)
    (tmp_path / "before").write_text(edit.before)
    (tmp_path / "after").write_text(edit.after.replace("errors=remount-ro,noatime", "errors=remount-ro, noatime"))
    assert findmnt_verify(tmp_path / "after") != findmnt_verify(tmp_path / "before")
    _, err = findmnt_verify(tmp_path / "after")
    assert any("parse error at line 2" in line for line in err)
