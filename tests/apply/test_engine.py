"""The apply engine on temporary roots: journal, validation, faults at each stage, refusals,
undo and its conflicts, and a real sysfs write on a loop device."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from ssdwizard.apply.engine import ApplyFailed, ApplyRefused, apply_plan, preconditions, undo
from ssdwizard.apply.journal import Journal, JournalError
from ssdwizard.apply.plan import CommandRun, FileEdit, Plan, SysfsWrite
from ssdwizard.system import LiveSystem, ProfileSystem

FSTAB = "# /etc/fstab: static file system information.\n/dev/pve/root / ext4 errors=remount-ro 0 1\nproc /proc proc defaults 0 0\n"
FSTAB_NEW = FSTAB.replace("errors=remount-ro", "errors=remount-ro,noatime")
VERIFY = ("findmnt", "--verify", "--tab-file", "{file}")


def sandbox(make_profile, files=None, links=None, euid=0):
    profile = make_profile(files={"/etc/fstab": FSTAB, **(files or {})}, links=links)
    if euid:
        toml = profile / "profile.toml"
        toml.write_text(toml.read_text().replace("[profile]\n", f"[profile]\neuid = {euid}\n", 1))
    return ProfileSystem(profile)


def fstab_plan(before=FSTAB, after=FSTAB_NEW, validate=VERIFY):
    return Plan("mount", (FileEdit("/etc/fstab", before, after, "add noatime on /", validate,
                                   (("systemctl", "daemon-reload"), ("mount", "-o", "remount", "/"))),))


def test_apply_writes_keeps_mode_and_journals_then_undo_restores_the_bytes(make_profile):
    system = sandbox(make_profile)
    fstab = system.host_path("/etc/fstab")
    os.chmod(fstab, 0o644)
    applied = apply_plan(system, fstab_plan())
    assert fstab.read_text() == FSTAB_NEW
    assert stat.S_IMODE(os.stat(fstab).st_mode) == 0o644
    entry = Journal(system.writer()).load(applied.journal_id)
    assert entry.state == "done" and entry.changes[0]["applied"]
    assert system.host_path(f"{entry.folder}/0.orig").read_text() == FSTAB
    assert [r.argv for r in applied.followups] == [("systemctl", "daemon-reload"), ("mount", "-o", "remount", "/")]
    # On a profile the follow-ups are written to the sandbox's log, not run.
    log = system.host_path("/var/lib/ssdwizard/simulated-commands.log").read_text()
    assert log == "systemctl daemon-reload\nmount -o remount /\n"
    assert undo(system) == ["restored /etc/fstab"]
    assert fstab.read_bytes() == FSTAB.encode()
    with pytest.raises(JournalError, match="nothing to undo"):
        undo(system)


def test_a_file_changed_since_the_plan_aborts_and_writes_nothing(make_profile):
    system = sandbox(make_profile)
    plan = fstab_plan()
    system.host_path("/etc/fstab").write_text(FSTAB + "# edited by someone else\n")
    with pytest.raises(ApplyRefused, match="changed since the plan"):
        apply_plan(system, plan)
    assert system.host_path("/etc/fstab").read_text() == FSTAB + "# edited by someone else\n"
    assert not system.host_path("/var/lib/ssdwizard/journal").exists()


def test_a_candidate_that_findmnt_rejects_never_replaces_the_file(make_profile):
    system = sandbox(make_profile)
    broken = FSTAB + "/dev/sdb1 /srv\n"  # two fields: libmount's parse error
    with pytest.raises(ApplyFailed, match="parse error") as failure:
        apply_plan(system, fstab_plan(after=broken))
    assert system.host_path("/etc/fstab").read_text() == FSTAB
    assert failure.value.restored == []  # nothing had been written
    assert [p.name for p in system.host_path("/etc").iterdir()] == ["fstab"]  # no temp file left
    assert Journal(system.writer()).load(failure.value.journal_id).state == "failed"


def test_errors_the_original_already_has_do_not_block_the_change(make_profile):
    # In a profile no UUID resolves on this machine: findmnt reports [E] for the original too.
    system = sandbox(make_profile, files={"/etc/fstab": "UUID=0000-dead / ext4 defaults 0 1\n"})
    apply_plan(system, fstab_plan("UUID=0000-dead / ext4 defaults 0 1\n", "UUID=0000-dead / ext4 defaults,noatime 0 1\n"))
    assert "noatime" in system.host_path("/etc/fstab").read_text()


@pytest.mark.parametrize("stage", ["written", "before-rename", "renamed"])
def test_a_failure_at_each_stage_leaves_the_old_file_and_the_backup(make_profile, stage):
    system = sandbox(make_profile)

    def fault(at):
        if at == stage:
            raise OSError(f"injected failure {at}")

    with pytest.raises(ApplyFailed, match="injected failure") as failure:
        apply_plan(system, fstab_plan(validate=()), fault=fault)
    assert system.host_path("/etc/fstab").read_text() == FSTAB  # old, never a mix
    assert [p.name for p in system.host_path("/etc").iterdir()] == ["fstab"]
    entry = Journal(system.writer()).load(failure.value.journal_id)
    assert system.host_path(f"{entry.folder}/0.orig").read_text() == FSTAB
    assert failure.value.restored == (["restored /etc/fstab"] if stage == "renamed" else [])


def test_a_later_failing_change_rolls_back_the_earlier_ones(make_profile):
    system = sandbox(make_profile, files={"/etc/other": "a\n"})
    plan = Plan("x", (FileEdit("/etc/fstab", FSTAB, FSTAB_NEW, "first"),
                      FileEdit("/etc/other", "a\n", "b\n", "second")))
    calls = []

    def fault(at):
        calls.append(at)
        if len(calls) == 4:  # the second file's "written" stage
            raise OSError("disk full")

    with pytest.raises(ApplyFailed) as failure:
        apply_plan(system, plan, fault=fault)
    assert failure.value.restored == ["restored /etc/fstab"]
    assert system.host_path("/etc/fstab").read_text() == FSTAB and system.host_path("/etc/other").read_text() == "a\n"


def test_undo_after_an_outside_edit_reports_the_conflict_and_overwrites_nothing(make_profile):
    system = sandbox(make_profile)
    apply_plan(system, fstab_plan())
    system.host_path("/etc/fstab").write_text(FSTAB_NEW + "# the admin's own line\n")
    with pytest.raises(ApplyRefused, match="was changed after ssdwizard wrote it"):
        undo(system)
    assert system.host_path("/etc/fstab").read_text() == FSTAB_NEW + "# the admin's own line\n"


def test_non_root_can_plan_but_not_apply(make_profile):
    system = sandbox(make_profile, euid=1000)
    with pytest.raises(ApplyRefused, match="needs root"):
        apply_plan(system, fstab_plan())
    assert system.host_path("/etc/fstab").read_text() == FSTAB


def test_a_linked_file_is_written_behind_its_link_and_the_link_stays(make_profile):
    conf = "[global]\n\tfsid = x\n"
    system = sandbox(make_profile, files={"/etc/pve/ceph.conf": conf}, links={"/etc/ceph/ceph.conf": "/etc/pve/ceph.conf"})
    os.chmod(system.host_path("/etc/pve/ceph.conf"), 0o640)
    plan = Plan("ceph", (FileEdit("/etc/ceph/ceph.conf", conf, conf + "\n[client]\n\trbd_cache = true\n", "cache on"),))
    applied = apply_plan(system, plan)
    assert applied.done[0].startswith("wrote /etc/pve/ceph.conf (through /etc/ceph/ceph.conf)")
    link = system.root / "etc" / "ceph" / "ceph.conf"
    assert link.is_symlink() and os.readlink(link) == "/etc/pve/ceph.conf"
    assert "rbd_cache = true" in system.host_path("/etc/pve/ceph.conf").read_text()


def test_a_read_only_pve_file_without_quorum_is_refused_before_writing(make_profile):
    conf = "[global]\n"
    system = sandbox(make_profile, files={"/etc/pve/datacenter.cfg": conf})
    os.chmod(system.host_path("/etc/pve/datacenter.cfg"), 0o440)  # how pmxcfs shows files without quorum
    plan = Plan("migration", (FileEdit("/etc/pve/datacenter.cfg", conf, conf + "migration: type=insecure\n", "x"),))
    with pytest.raises(ApplyRefused, match="no quorum"):
        apply_plan(system, plan)
    assert system.host_path("/etc/pve/datacenter.cfg").read_text() == conf


def test_a_read_only_filesystem_is_refused_before_writing(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    (target / "fstab").write_text(FSTAB)
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(target), str(target)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=False)
        writer = LiveSystem().writer()
        assert "read-only" in (writer.why_not_writable(str(target / "fstab")) or "")
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_an_immutable_file_is_refused_before_writing(tmp_path):
    target = tmp_path / "fstab"
    target.write_text(FSTAB)
    flagged = subprocess.run(["chattr", "+i", str(target)], capture_output=True)
    if flagged.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {flagged.stderr.decode().strip()}")
    try:
        system = LiveSystem(state_dir=str(tmp_path / "state"))
        plan = Plan("mount", (FileEdit(str(target), FSTAB, FSTAB_NEW, "x"),))
        assert any("immutable" in p for p in preconditions(system, plan))
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert target.read_text() == FSTAB


def test_commands_are_journalled_and_undone_with_their_undo_command(make_profile):
    system = sandbox(make_profile)
    plan = Plan("trim", (CommandRun(("systemctl", "enable", "--now", "fstrim.timer"),
                                    ("systemctl", "disable", "--now", "fstrim.timer"), "weekly TRIM"),))
    apply_plan(system, plan)
    undo(system)
    log = system.host_path("/var/lib/ssdwizard/simulated-commands.log").read_text()
    assert log == "systemctl enable --now fstrim.timer\nsystemctl disable --now fstrim.timer\n"


@pytest.fixture
def loop_device(tmp_path):
    """A loop device over a small file, detached by its path whatever the test does."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"\0" * (8 * 1024 * 1024))
    made = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    device = made.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def test_a_scheduler_the_kernel_rejects_leaves_the_old_one(loop_device, tmp_path):
    path = f"/sys/block/{os.path.basename(loop_device)}/queue/scheduler"
    system = LiveSystem(state_dir=str(tmp_path / "state"))
    before = system.read_text(path)
    current = before.split("[")[1].split("]")[0]
    with pytest.raises(ApplyFailed, match="the kernel refused 'no-such-elevator'"):
        apply_plan(system, Plan("scheduler", (SysfsWrite(path, current, "no-such-elevator", "test"),)))
    assert system.read_text(path) == before


def test_a_scheduler_write_takes_effect_and_undo_puts_the_old_one_back(loop_device, tmp_path):
    path = f"/sys/block/{os.path.basename(loop_device)}/queue/scheduler"
    # The journal of a live apply lives in /var/lib/ssdwizard: this one in a tmp dir.
    system = LiveSystem(state_dir=str(tmp_path / "state"))
    before = system.read_text(path)
    current = before.split("[")[1].split("]")[0]
    wanted = next(name.strip("[]") for name in before.split() if name.strip("[]") != current)
    apply_plan(system, Plan("scheduler", (SysfsWrite(path, current, wanted, "test"),)))
    assert f"[{wanted}]" in system.read_text(path)
    undo(system)
    assert system.read_text(path) == before


def test_the_udev_rule_takes_effect_on_a_real_loop_device(loop_device, tmp_path, monkeypatch):
    """Where udev runs, the rule the scheduler step writes switches a new disk's scheduler
    after `udevadm trigger`. Loop devices are not sd*/nvme*, so the test writes the same rule
    shape for loop devices into a temporary rules file and removes it afterwards."""
    import shutil as sh

    if sh.which("udevadm") is None or not os.path.exists("/run/udev/control"):
        pytest.skip("udev is not running here (no udevadm or no /run/udev/control): the rule cannot take effect")
    name = os.path.basename(loop_device)
    path = f"/sys/block/{name}/queue/scheduler"
    before = LiveSystem().read_text(path)
    current = before.split("[")[1].split("]")[0]
    wanted = next(n.strip("[]") for n in before.split() if n.strip("[]") != current)
    rule = f'ACTION=="add|change", SUBSYSTEM=="block", ENV{{DEVTYPE}}=="disk", KERNEL=="{name}", ATTR{{queue/scheduler}}="{wanted}"\n'
    rules = "/etc/udev/rules.d/99-ssdwizard-test.rules"
    try:
        with open(rules, "w") as handle:
            handle.write(rule)
        subprocess.run(["udevadm", "control", "--reload"], check=True)
        subprocess.run(["udevadm", "trigger", "--action=change", f"--sysname-match={name}"], check=True)
        subprocess.run(["udevadm", "settle", "--timeout=10"], check=False)
        assert f"[{wanted}]" in LiveSystem().read_text(path)
    finally:
        os.unlink(rules)
        subprocess.run(["udevadm", "control", "--reload"], check=False)
        with open(path, "w") as handle:
            handle.write(current)
