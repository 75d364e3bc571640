"""Garbage in a machine profile gives a clear refusal or a sensible report, never a hang, a
crash ("internal error") or a step whose probe raised (status "error").

A profile is untrusted input (DESIGN §3.1): it comes from a bug report, and may hold a FIFO, a
device, a 1 GB file, TOML nested ten thousand deep, ``latency_ms = nan``, NUL bytes, or the
wizard's own sandbox file garbled. Refusals are one line on stderr and exit 3 (DESIGN §3.3).
Cases that could hang run in a subprocess with a timeout, so a regression fails instead of
stopping the suite.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli, report
from ssdwizard.system import MAX_LATENCY_MS, MAX_READ_BYTES, ProfileError, ProfileSystem

HANG_GUARD_S = 60
ONE_GB = 1 << 30
FAILED_MIGRATION_LOG = "var/log/pve/tasks/5/UPID:pve1:000D1A3B:01E0C5F1:67FE3D25:qmigrate:107:root@pam:"
OK_MIGRATION_LOG = "var/log/pve/tasks/0/UPID:pve1:0002B7E1:00A51F07:67788210:qmigrate:105:root@pam:"
SANDBOX_UNITS = "var/lib/ssdwizard/sandbox-units.json"
# Prints the peak memory of the run after the CLI's own output, for the bounded-read cases. VmHWM,
# not ru_maxrss: Linux carries ru_maxrss across exec, so it reports the pytest parent's peak.
MEASURED = ("import sys\nfrom ssdwizard.cli import main\ncode = main(sys.argv[1:])\n"
            "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
            "sys.stderr.write(f'MAXRSS_KB {hwm.split()[1]}\\n')\n"
            "sys.exit(code)\n")


# ---- helpers --------------------------------------------------------------------------------------

def in_subprocess(*argv: str) -> tuple[int, str, str, int]:
    """The CLI in its own process, killed after HANG_GUARD_S; also its peak memory in KiB."""
    done = subprocess.run([sys.executable, "-c", MEASURED, *argv], capture_output=True, text=True, check=False,
                          timeout=HANG_GUARD_S)
    lines = done.stderr.splitlines()
    assert lines and lines[-1].startswith("MAXRSS_KB "), done.stderr
    return done.returncode, done.stdout, "\n".join(lines[:-1]) + ("\n" if lines[:-1] else ""), int(lines[-1].split()[1])


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    """Exit 3, nothing on stdout, one line on stderr that names the problem."""
    assert code == 3, (code, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ssdwizard: ") and "internal error" not in err and "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def assert_sensible(code: int, out: str, err: str, fmt: str = "json") -> dict | None:
    """A report (exit 0-2) in which no probe raised."""
    assert code in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err
    if fmt != "json":
        assert "The probe failed" not in out
        return None
    parsed = json.loads(out)
    assert [(s["id"], s["summary"]) for s in parsed["steps"] if s["status"] == "error"] == []
    return parsed


def step(parsed: dict, step_id: str) -> dict:
    return next(s for s in parsed["steps"] if s["id"] == step_id)


def append_toml(profile: Path, text: str) -> None:
    toml = profile / "profile.toml"
    toml.write_text(toml.read_text() + "\n" + text + "\n")


def replace_with_special(path: Path, kind: str) -> None:
    """Put a FIFO, a /dev/zero-like character device or a 1 GB sparse file at ``path``."""
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        try:
            os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # the numbers of /dev/zero
        except PermissionError:
            pytest.skip("creating a device node needs root (CAP_MKNOD)")
    else:
        with open(path, "wb") as handle:
            handle.truncate(ONE_GB)


# ---- FIFOs, devices and huge files: bounded, never a hang ----------------------------------------

SPECIAL_PLACES = {
    "root-file": "root/etc/fstab",
    "sysfs-file": "root/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/queue/scheduler",
    "command-stdout": "commands/dmesg.txt",
    "profile.toml": "profile.toml",
}
EXPECTED_WORDS = {"fifo": "FIFO", "chardev": "character device", "sparse": "more than the 16 MiB"}


@pytest.mark.parametrize("kind", ["fifo", "chardev", "sparse"])
@pytest.mark.parametrize("place", sorted(SPECIAL_PLACES))
def test_fifos_devices_and_huge_files_are_refused_without_hanging(profile_copy, place, kind):
    profile = profile_copy("pve-ceph-node")
    replace_with_special(profile / SPECIAL_PLACES[place], kind)
    began = time.monotonic()
    code, out, err, max_rss_kb = in_subprocess("--headless", "--report", "--format", "json", "--machine", str(profile))
    assert time.monotonic() - began < 30
    assert_refused(code, out, err, "cannot replay the profile", EXPECTED_WORDS[kind])
    assert max_rss_kb < 200 * 1024  # nothing near the file's 1 GB was read


def test_apply_refuses_a_profile_with_a_fifo_before_writing(profile_copy):
    profile = profile_copy("pve-ceph-node")
    replace_with_special(profile / "root" / "etc" / "hosts", "fifo")
    fstab = (profile / "root" / "etc" / "fstab").read_bytes()
    code, out, err, _ = in_subprocess("--apply", "mount,trim,scheduler,ceph,migration", "--yes", "--machine",
                                      str(profile))
    assert_refused(code, out, err, "FIFO")
    assert (profile / "root" / "etc" / "fstab").read_bytes() == fstab
    assert not (profile / "root" / "var" / "lib" / "ssdwizard").exists()


def test_a_root_file_at_the_cap_is_read_and_one_byte_more_is_refused(make_profile):
    profile = make_profile(files={"/etc/hostname": "h\n"})
    big = profile / "root" / "etc" / "big"
    with open(big, "wb") as handle:
        handle.truncate(MAX_READ_BYTES)
    system = ProfileSystem(profile)
    assert len(system.read_text("/etc/big") or "") == MAX_READ_BYTES
    with open(big, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ProfileError, match="more than the 16 MiB"):
        ProfileSystem(profile).read_text("/etc/big")


def test_live_reads_of_procfs_and_sysfs_still_work():
    # Size 0 on stat, content on read(): the live side must keep reading until end of file.
    from ssdwizard.system import LiveSystem

    live = LiveSystem()
    assert live.read_text("/proc/self/mountinfo")
    assert live.read_text("/proc/sys/kernel/osrelease")
    assert live.read_text("/proc/self/status\0x") is None
    assert live.listdir("/proc/self\0") == [] and live.readlink("/proc/\0self") is None


# ---- garbled profile.toml ---------------------------------------------------------------------------

DEEP = 50_000


@pytest.mark.parametrize("toml, word", [
    (f"x = {'[' * DEEP}{']' * DEEP}\n", "nested too deeply"),
    (f"x = {'{a = ' * DEEP}1{'}' * DEEP}\n", "nested too deeply"),
    (f"[profile]\nname = {'[' * 100}{']' * 100}\n", "name must be a string"),
    ("[profile]\ndescription = 5\n", "description must be a string"),
    ("[profile]\neuid = true\n", "euid must be a whole number"),
    ("[[command]]\nargv = ['dmesg']\nexit = true\n", "exit must be an integer"),
    ("[[command]]\nargv = ['dmesg']\nstdout = ''\n", "must be a path inside the profile"),
    ('[[command]]\nargv = ["dmesg"]\nstdout = "commands/a\\u0000b"\n', "must be a path inside the profile"),
    ("[[command]]\nargv = ['dmesg']\nstdout = 'commands'\n", "Is a directory"),
    ('[[link]]\npath = "/sys/block/sda\\u0000x"\ntarget = "../devices/sda"\n', "NUL"),
    ('[[link]]\npath = "/sys/block/sda"\ntarget = "../devices/sda\\u0000/../../../etc"\n', "NUL"),
])
def test_garbled_toml_is_one_clear_line(tmp_path, capsys, toml, word):
    profile = tmp_path / "p"
    (profile / "commands").mkdir(parents=True)
    (profile / "profile.toml").write_text(toml)
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "cannot replay the profile", word)


def test_a_profile_toml_that_is_not_utf8_is_one_clear_line(tmp_path, capsys):
    profile = tmp_path / "p"
    profile.mkdir()
    (profile / "profile.toml").write_bytes(b"[profile]\nname = '\xff\xfe'\n")
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "cannot replay the profile", "cannot read")


@pytest.mark.parametrize("value", ["inf", "+inf", "-inf", "nan", "-nan", "1e300", str(MAX_LATENCY_MS + 1), "-1",
                                   "true", "'5'", "99999999999999999999"])
def test_a_latency_that_is_not_a_sane_number_is_refused(make_profile, capsys, value):
    profile = make_profile(commands=[{"argv": ["dmesg"], "stdout": "x"}])
    toml = profile / "profile.toml"
    toml.write_text(toml.read_text().replace("latency_ms = 0", f"latency_ms = {value}"))
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "latency_ms must be a number from 0 to 600000")


def test_the_largest_latency_is_accepted(make_profile):
    profile = make_profile(commands=[{"argv": ["dmesg"], "stdout": "x", "latency_ms": MAX_LATENCY_MS}])
    assert not ProfileSystem(profile).answers_instantly


def test_a_root_that_is_a_file_and_an_escape_in_a_link_are_one_escaped_line(tmp_path, capsys, profile_copy):
    profile = profile_copy("pve-ceph-node")
    import shutil

    shutil.rmtree(profile / "root")
    (profile / "root").write_text("not a folder")
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "not a folder")
    (profile / "root").unlink()
    (profile / "root").symlink_to("/tmp/\x1b[2J\nfake line")
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "symbolic link", "\\x1b[2J\\nfake line")
    assert "\x1b" not in err


# ---- the sandbox's own unit states ----------------------------------------------------------------

@pytest.mark.parametrize("content", [
    b"{not json",
    b"[1, 2]",
    b'"enabled"',
    b'{"fstrim.timer": 5}',
    b'{"fstrim.timer": null}',
    b'{"fstrim.timer": ["enabled"]}',
    b"[" * 100_000,
    b"\xff\xfe\x00",
    b"",
])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_garbled_sandbox_units_file_is_a_clear_refusal(capsys, profile_copy, content, fmt):
    profile = profile_copy("pve-ceph-node")
    state = profile / "root" / SANDBOX_UNITS
    state.parent.mkdir(parents=True)
    state.write_bytes(content)
    code, out, err = report(capsys, profile, fmt)
    assert_refused(code, out, err, "cannot replay the profile", "sandbox-units.json")


def test_a_sound_sandbox_units_file_answers_systemctl(capsys, profile_copy):
    profile = profile_copy("pve-ceph-node")
    state = profile / "root" / SANDBOX_UNITS
    state.parent.mkdir(parents=True)
    state.write_text('{"fstrim.timer": "enabled", "other.service": "masked"}')
    parsed = assert_sensible(*report(capsys, profile))
    assert step(parsed, "trim")["facts"]["fstrim_timer"] == "enabled"


# ---- NUL bytes where a path is read from a file -----------------------------------------------------

FSTAB_NUL_LINES = [
    b"UUID=ab\x00cd /mnt/x ext4 defaults 0 2",
    b"/dev/sd\x00b1 /mnt/y ext4 defaults 0 2",
    b"/dev/mapper/x\x00y /mnt/q ext4 defaults 0 2",
    b"LABEL=a\x00b /mnt/z xfs defaults 0 2",
    b"/dev/sdb1 /mnt/a\x00b ext4 defaults,no\x00atime 0 2",
    b"# a comment\x00with a NUL",
    b"\x00",
    b"/dev/sdc1\x00/mnt/c\x00ext4\x00defaults\x000\x002",
]


@pytest.mark.parametrize("line", FSTAB_NUL_LINES, ids=[repr(line)[2:-1][:30] for line in FSTAB_NUL_LINES])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_nul_bytes_in_fstab_give_a_sensible_report(capsys, profile_copy, line, fmt):
    profile = profile_copy("pve-ceph-node")
    fstab = profile / "root" / "etc" / "fstab"
    fstab.write_bytes(fstab.read_bytes() + line + b"\n")
    assert_sensible(*report(capsys, profile, fmt), fmt=fmt)


def test_apply_next_to_a_fstab_line_with_nul_bytes(capsys, profile_copy):
    profile = profile_copy("pve-ceph-node")
    fstab = profile / "root" / "etc" / "fstab"
    odd = b"/dev/mapper/x\x00y /mnt/q ext4 defaults 0 2\n"
    fstab.write_bytes(fstab.read_bytes() + odd)
    code, _, err = cli(capsys, "--apply", "mount", "--yes", "--machine", str(profile))
    assert "internal error" not in err and "Traceback" not in err
    assert code in (0, 2, 3), err
    assert odd in fstab.read_bytes()


def test_nul_bytes_in_mountinfo_give_a_sensible_report(capsys, profile_copy):
    profile = profile_copy("pve-ceph-node")
    mountinfo = profile / "root" / "proc" / "self" / "mountinfo"
    mountinfo.write_bytes(mountinfo.read_bytes()
                          + b"99 1 8:17 / /mnt/a\x00b rw,relatime shared:9 - ext4 /dev/sd\x00b1 rw\n")
    assert_sensible(*report(capsys, profile))


# ---- migration history with missing logs ----------------------------------------------------------

@pytest.mark.parametrize("missing", [[FAILED_MIGRATION_LOG], [OK_MIGRATION_LOG],
                                     [FAILED_MIGRATION_LOG, OK_MIGRATION_LOG]], ids=["failed", "ok", "both"])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_migration_whose_task_log_is_missing_is_reported_not_a_crash(capsys, profile_copy, missing, fmt):
    profile = profile_copy("pve-ceph-node")
    for log in missing:
        (profile / "root" / log).unlink()
    parsed = assert_sensible(*report(capsys, profile, fmt), fmt=fmt)
    if parsed is None:
        return
    migration = step(parsed, "migration")
    tasks = {t["vmid"]: t["status"] for t in migration["facts"]["tasks"]}
    assert tasks[107] == "error" and tasks[105] == "ok"
    text = json.dumps(migration)
    assert "is gone" in text
    if FAILED_MIGRATION_LOG in missing:
        failure = next(f for f in migration["findings"] if f["subject"].startswith("VM 107"))
        assert failure["status"] == "warn" and "migration aborted" in failure["message"]


def test_a_migration_log_that_is_not_a_log_is_reported(capsys, profile_copy):
    profile = profile_copy("pve-ceph-node")
    (profile / "root" / FAILED_MIGRATION_LOG).write_bytes(b"\x00garbage\xff\n")
    parsed = assert_sensible(*report(capsys, profile))
    failure = next(f for f in step(parsed, "migration")["findings"] if f["subject"].startswith("VM 107"))
    assert "does not read as a migration log" in failure["advice"]
