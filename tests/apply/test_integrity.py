"""Issue 10's promises of the apply layer that are not about kills (tests/apply/test_killpoints.py
does those): the journal's own files, concurrent admin edits, command values changed since,
ordering, bytes that are not UTF-8, metadata, links planted in the journal, a full or read-only
state folder. Everything runs in temporary roots (profile copies or a LiveSystem with a tmp
state_dir); nothing here touches this machine's /etc or /var/lib/ssdwizard."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import stat
import subprocess

import pytest

import ssdwizard.apply.journal as journal_module
from ssdwizard.apply.engine import ApplyFailed, ApplyRefused, apply_plan, undo
from ssdwizard.apply.journal import Journal
from ssdwizard.apply.plan import CommandRun, FileEdit, Plan, StateCheck
from ssdwizard.cli import main
from ssdwizard.system import LiveSystem, ProfileSystem
from tests.apply.test_full_cycle import ACTIONS, file_bytes

FSTAB = "# /etc/fstab\n/dev/pve/root / ext4 errors=remount-ro 0 1\nproc /proc proc defaults 0 0\n"
FSTAB_NEW = FSTAB.replace("errors=remount-ro", "errors=remount-ro,noatime")


def fstab_plan(path="/etc/fstab", before=FSTAB, after=FSTAB_NEW, step="mount"):
    return Plan(step, (FileEdit(path, before, after, "add noatime on /"),))


def profile_with_fstab(make_profile, fstab=FSTAB):
    return ProfileSystem(make_profile(files={"/etc/fstab": fstab}))


# -- the journal's own files ----------------------------------------------------------------------

def test_the_journal_is_private_and_written_whole(make_profile):
    system = profile_with_fstab(make_profile)
    applied = apply_plan(system, fstab_plan())
    state = system.host_path("/var/lib/ssdwizard")
    folder = state / "journal" / applied.journal_id
    for path in (state, state / "journal", folder):
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700, path
    for name in ("entry.json", "0.orig"):
        assert stat.S_IMODE(os.lstat(folder / name).st_mode) == 0o600, name
    assert sorted(os.listdir(folder)) == ["0.orig", "entry.json"]  # no temporary file left
    entry = json.loads((folder / "entry.json").read_text())
    assert entry["seq"] == 1 and entry["state"] == "done"
    record = entry["changes"][0]
    # Both hashes are known from the start: undo never depends on how far a run got.
    assert record["before_sha256"] and record["after_sha256"] and record["before_sha256"] != record["after_sha256"]


@pytest.mark.parametrize("damage", ["empty", "missing", "garbage", "not-a-list"])
def test_one_damaged_entry_never_breaks_undo_of_the_others(make_profile, damage):
    system = profile_with_fstab(make_profile)
    apply_plan(system, fstab_plan())
    broken = system.host_path("/var/lib/ssdwizard/journal/20990101-000000-broken")
    broken.mkdir(mode=0o700)
    (broken / "0.orig").write_bytes(b"something\n")
    if damage == "empty":
        (broken / "entry.json").write_bytes(b"")
    elif damage == "garbage":
        (broken / "entry.json").write_bytes(b"{\"id\": \x00")
    elif damage == "not-a-list":
        (broken / "entry.json").write_text(json.dumps({"id": "x", "step": "s", "created": "c", "state": "done",
                                                       "changes": "nope"}))
    assert undo(system) == ["restored /etc/fstab"]
    assert system.host_path("/etc/fstab").read_text() == FSTAB


def test_two_applies_in_the_same_second_undo_the_last_one(make_profile, monkeypatch):
    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime(2026, 12, 3, 6, 0, 0, tzinfo=tz)

    monkeypatch.setattr(journal_module.datetime, "datetime", Frozen)
    system = ProfileSystem(make_profile(files={"/etc/fstab": FSTAB, "/etc/other.conf": "a = 1\n"}))
    # "zz" sorts after "aa" by name: only the sequence says which came last.
    apply_plan(system, fstab_plan(step="zz"))
    second = apply_plan(system, Plan("aa", (FileEdit("/etc/other.conf", "a = 1\n", "a = 2\n", "x"),)))
    assert second.journal_id < "20261203-060000-zz"
    assert undo(system) == ["restored /etc/other.conf"]
    assert system.host_path("/etc/fstab").read_text() == FSTAB_NEW  # the first one still applied
    assert undo(system) == ["restored /etc/fstab"]


# -- someone else edits while ssdwizard writes ---------------------------------------------------

ADMIN = FSTAB + "# the admin's own line\n"


def test_an_edit_between_the_plan_check_and_the_rename_is_kept(make_profile):
    system = profile_with_fstab(make_profile)
    fstab = system.host_path("/etc/fstab")

    def admin_edits(stage):
        if stage == "before-rename":
            fstab.write_text(ADMIN)

    with pytest.raises(ApplyFailed, match="changed by someone else while ssdwizard was writing"):
        apply_plan(system, fstab_plan(), fault=admin_edits)
    assert fstab.read_text() == ADMIN
    assert not [p for p in os.listdir(fstab.parent) if "ssdwizard" in p]


def test_an_edit_between_the_rename_and_the_read_back_is_kept_and_said(make_profile):
    system = profile_with_fstab(make_profile)
    fstab = system.host_path("/etc/fstab")

    def admin_edits(stage):
        if stage == "renamed":
            fstab.write_text(ADMIN)

    with pytest.raises(ApplyFailed, match="changed by someone else right after") as failed:
        apply_plan(system, fstab_plan(), fault=admin_edits)
    assert fstab.read_text() == ADMIN  # not rolled back over the admin's text
    assert any(line.startswith("kept /etc/fstab") and "original is in" in line for line in failed.value.restored)
    entry = Journal(system.writer()).load(failed.value.journal_id)
    assert system.host_path(f"{entry.folder}/0.orig").read_text() == FSTAB  # both texts are kept


def test_undo_of_qm_set_refuses_when_the_vm_value_changed_since(profile_copy, capsys):
    copy = profile_copy("pve-ceph-node")
    assert main(["--apply", "ceph", "--yes", "--machine", str(copy)]) == 0
    capsys.readouterr()
    conf = copy / "root/etc/pve/nodes/pve1/qemu-server/100.conf"
    text = conf.read_text()
    assert "cache=writeback" in text
    admins = text.replace("cache=writeback", "cache=directsync", 1)
    conf.write_text(admins)
    assert main(["--undo", "--machine", str(copy)]) == 3
    err = capsys.readouterr().err
    assert "was changed after ssdwizard wrote it" in err and "100.conf" in err
    assert conf.read_text() == admins  # the admin's value stands


def test_a_qm_set_value_changed_since_the_plan_is_refused(make_profile):
    system = ProfileSystem(make_profile(files={"/etc/pve/qemu-server/100.conf": "scsi0: ceph:vm-100-disk-0,cache=none\n"}))
    check = StateCheck("ceph:vm-100-disk-0", "ceph:vm-100-disk-0,cache=writeback",
                       path="/etc/pve/qemu-server/100.conf", key="scsi0")
    plan = Plan("ceph", (CommandRun(("qm", "set", "100", "--scsi0", check.after), ("qm", "set", "100", "--scsi0",
                                                                                   check.before), "x", check),))
    with pytest.raises(ApplyRefused, match="changed since the plan"):
        apply_plan(system, plan)
    assert system.host_path("/etc/pve/qemu-server/100.conf").read_text() == "scsi0: ceph:vm-100-disk-0,cache=none\n"


def test_the_qm_set_stand_in_never_leaves_a_vm_config_empty(make_profile, monkeypatch):
    conf = "boot: order=scsi0\nscsi0: ceph:vm-100-disk-0\n"
    system = ProfileSystem(make_profile(files={"/etc/pve/qemu-server/100.conf": conf}))
    real_write = os.write

    def write_half_then_fail(fd, data):
        real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(28, "No space left on device")

    plan = Plan("ceph", (CommandRun(("qm", "set", "100", "--scsi0", "ceph:vm-100-disk-0,cache=writeback"), None, "x"),))
    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.raises((ApplyFailed, ApplyRefused)):
        apply_plan(system, plan)
    monkeypatch.setattr(os, "write", real_write)
    assert system.host_path("/etc/pve/qemu-server/100.conf").read_text() == conf


# -- an interrupted run ----------------------------------------------------------------------------

def _interrupt_after_first_change(system, plan):
    """An apply that stops dead after its first change, as a SIGKILL would leave it."""
    class Killed(BaseException):
        pass

    def kill(stage):
        if stage == "renamed":
            raise Killed

    with pytest.raises(Killed):
        apply_plan(system, plan, fault=kill)


def test_an_interrupted_run_blocks_a_new_apply_until_undone_then_undo_restores_it(make_profile):
    system = ProfileSystem(make_profile(files={"/etc/fstab": FSTAB, "/etc/other.conf": "a = 1\n"}))
    plan = Plan("mount", (FileEdit("/etc/fstab", FSTAB, FSTAB_NEW, "x"),
                          FileEdit("/etc/other.conf", "a = 1\n", "a = 2\n", "y")))
    _interrupt_after_first_change(system, plan)
    [entry] = Journal(system.writer()).entries()
    assert entry.state == "started"
    with pytest.raises(ApplyRefused, match=f"the run {entry.id} was interrupted"):
        apply_plan(system, Plan("x", (FileEdit("/etc/other.conf", "a = 1\n", "a = 3\n", "z"),)))
    assert undo(system) == ["restored /etc/fstab"]
    assert system.host_path("/etc/fstab").read_text() == FSTAB
    assert system.host_path("/etc/other.conf").read_text() == "a = 1\n"


# -- bytes and metadata ----------------------------------------------------------------------------

LATIN1_FSTAB = (b"# /etc/fstab\n/dev/sdb1 /srv/m\xfcll ext4 defaults 0 2\n"
                b"/dev/pve/root / ext4 errors=remount-ro 0 1\n")


def test_bytes_that_are_not_utf8_stay_exact_on_the_lines_the_change_leaves_alone(make_profile):
    profile = make_profile()
    (profile / "root/etc").mkdir(parents=True)
    (profile / "root/etc/fstab").write_bytes(LATIN1_FSTAB)
    system = ProfileSystem(profile)
    before = system.read_text("/etc/fstab")
    assert "\ufffd" in before
    apply_plan(system, fstab_plan(before=before, after=before.replace("errors=remount-ro", "errors=remount-ro,noatime")))
    assert (profile / "root/etc/fstab").read_bytes() == LATIN1_FSTAB.replace(b"errors=remount-ro",
                                                                             b"errors=remount-ro,noatime")
    undo(system)
    assert (profile / "root/etc/fstab").read_bytes() == LATIN1_FSTAB


def test_a_change_to_a_line_that_is_not_utf8_is_refused(make_profile):
    profile = make_profile()
    (profile / "root/etc").mkdir(parents=True)
    (profile / "root/etc/fstab").write_bytes(LATIN1_FSTAB)
    system = ProfileSystem(profile)
    before = system.read_text("/etc/fstab")
    with pytest.raises(ApplyRefused, match="line 2 holds bytes that are not UTF-8"):
        apply_plan(system, fstab_plan(before=before, after=before.replace("defaults", "defaults,noatime")))
    assert (profile / "root/etc/fstab").read_bytes() == LATIN1_FSTAB


def _set_or_skip(path, name, value):
    try:
        os.setxattr(path, name, value)
    except OSError as exc:
        pytest.skip(f"{name} cannot be set on this filesystem: {exc.strerror}")


def test_a_live_apply_and_undo_keep_mode_owner_xattrs_and_acls(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("keeping another owner needs root")
    target = tmp_path / "etc" / "fstab"
    target.parent.mkdir()
    target.write_text(FSTAB)
    os.chown(target, 1234, 4321)
    os.chmod(target, 0o640)
    _set_or_skip(target, "user.ssdwizard-test", b"kept")
    if shutil.which("setfacl"):
        subprocess.run(["setfacl", "-m", "u:1235:r", str(target)], check=True)
    selinux = True
    try:
        os.setxattr(target, "security.selinux", b"system_u:object_r:etc_t:s0\x00")
    except OSError:
        selinux = False  # no label support without an LSM on this filesystem: the rest still counts
    expected = {name: os.getxattr(target, name) for name in os.listxattr(target)}
    expected_mode = stat.S_IMODE(os.stat(target).st_mode)
    system = LiveSystem(state_dir=str(tmp_path / "state"))

    def metadata():
        st = os.stat(target)
        return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode),
                {name: os.getxattr(target, name) for name in os.listxattr(target)})

    apply_plan(system, fstab_plan(path=str(target)))
    assert target.read_text() == FSTAB_NEW
    assert metadata() == (1234, 4321, expected_mode, expected)
    undo(system)
    assert target.read_text() == FSTAB
    assert metadata() == (1234, 4321, expected_mode, expected)
    if shutil.which("getfacl"):
        assert "user:1235:r--" in subprocess.run(["getfacl", "-p", str(target)], capture_output=True, text=True).stdout
    assert selinux or "security.selinux" not in expected


def test_a_file_with_hard_links_is_refused_not_split(make_profile):
    system = profile_with_fstab(make_profile)
    fstab = system.host_path("/etc/fstab")
    os.link(fstab, fstab.parent / "fstab.hardlink")
    with pytest.raises(ApplyRefused, match="2 hard links"):
        apply_plan(system, fstab_plan())
    assert fstab.read_text() == FSTAB and os.stat(fstab).st_nlink == 2


# -- links planted in the journal, a full or read-only state folder ----------------------------

@pytest.mark.parametrize("planted", ["lock", "journal-dir", "state-dir"])
def test_a_link_planted_in_the_state_folder_is_refused(tmp_path, planted):
    # A live machine's paths (in a tmp dir): the OS would follow these links, a profile's are
    # anchored in its root anyway.
    fstab = tmp_path / "etc" / "fstab"
    fstab.parent.mkdir()
    fstab.write_text(FSTAB)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "apply.lock").write_text("precious\n")
    state = tmp_path / "state"
    if planted == "state-dir":
        state.symlink_to(victim)
    else:
        state.mkdir()
        if planted == "lock":
            (state / "apply.lock").symlink_to(victim / "apply.lock")
        else:
            (state / "journal").symlink_to(victim)
    system = LiveSystem(state_dir=str(state))
    with pytest.raises(ApplyRefused, match="symbolic link"):
        apply_plan(system, fstab_plan(path=str(fstab)))
    assert fstab.read_text() == FSTAB
    assert sorted(os.listdir(victim)) == ["apply.lock"] and (victim / "apply.lock").read_text() == "precious\n"


def _mount_or_skip(argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"{' '.join(argv[:3])}: {done.stderr.strip()}")


@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_a_read_only_or_full_state_folder_is_refused_before_anything_changes(profile_copy, capsys, trouble):
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    copy = profile_copy("pve-ceph-node")
    state = copy / "root/var/lib/ssdwizard"
    state.mkdir(parents=True, exist_ok=True)
    before = file_bytes(copy)
    if trouble == "read-only":
        _mount_or_skip(["mount", "--bind", str(state), str(state)])
    else:
        _mount_or_skip(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(state)])
    try:  # from the mount on: unmounted whatever happens
        if trouble == "read-only":
            subprocess.run(["mount", "-o", "remount,bind,ro", str(state)], check=True)
        else:
            fd = os.open(state / "filler", os.O_WRONLY | os.O_CREAT)
            try:
                with pytest.raises(OSError):
                    while True:
                        os.write(fd, b"\0" * 4096)
            finally:
                os.close(fd)
        code = main(["--apply", ACTIONS, "--yes", "--machine", str(copy)])
        err = capsys.readouterr().err
        assert code == 3, err
        assert "nothing was" in err and "internal error" not in err
        assert ("read-only" in err) if trouble == "read-only" else ("No space left" in err)
        assert file_bytes(copy) == before
    finally:
        subprocess.run(["umount", str(state)], check=True)
