"""The one door to the machine: live commands, profile replay, recording."""

from __future__ import annotations

import os
import time

import pytest

from ssdwizard.system import EXIT_NOT_FOUND, LiveSystem, ProfileError, ProfileSystem, RecordingSystem, command_slug


def test_live_run_returns_exit_code_and_both_streams():
    result = LiveSystem().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (3, "out\n", "err\n", False)


def test_live_missing_program_is_exit_127_not_an_exception():
    result = LiveSystem().run(["ssdwizard-no-such-program", "--x"])
    assert result.exit_code == EXIT_NOT_FOUND and result.missing


def test_live_timeout_is_a_distinct_result():
    result = LiveSystem().run(["sleep", "5"], timeout=0.3)
    assert result.timed_out and not result.ok and not result.missing


def test_live_runs_in_the_c_locale(monkeypatch):
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert LiveSystem().run(["sh", "-c", "echo $LC_ALL"]).stdout == "C\n"


def test_live_reads_procfs_sysctl_files():
    # A single 16 MiB read() of a sysctl file fails with ENOMEM; the door must read it anyway.
    assert LiveSystem().read_text("/proc/sys/kernel/osrelease") == os.uname().release + "\n"


def test_live_files_dirs_and_links(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x\n")
    (tmp_path / "l").symlink_to("d")
    live = LiveSystem()
    assert live.read_text(str(tmp_path / "l" / "f")) == "x\n"
    assert live.read_text(str(tmp_path / "nope")) is None
    assert live.listdir(str(tmp_path)) == ["d", "l"]
    assert live.listdir(str(tmp_path / "nope")) == []
    assert live.readlink(str(tmp_path / "l")) == "d"
    assert live.readlink(str(tmp_path / "d")) is None
    assert live.realpath(str(tmp_path / "l" / "f")) == str(tmp_path / "d" / "f")
    assert live.is_dir(str(tmp_path / "l")) and not live.is_dir(str(tmp_path / "d" / "f"))


def test_profile_replays_commands_and_files(make_profile):
    profile = make_profile(
        commands=[{"argv": ["hdparm", "-I", "/dev/sda"], "stdout": "model\n", "stderr": "warn\n", "exit": 5},
                  {"argv": ["lsblk", "--json"], "stdout_file": '{"blockdevices": []}'}],
        files={"/sys/block/sda/queue/rotational": "0\n"},
    )
    system = ProfileSystem(profile)
    result = system.run(["hdparm", "-I", "/dev/sda"])
    assert (result.exit_code, result.stdout, result.stderr) == (5, "model\n", "warn\n")
    assert system.run(["lsblk", "--json"]).stdout == '{"blockdevices": []}'
    assert system.read_text("/sys/block/sda/queue/rotational") == "0\n"
    assert system.listdir("/sys/block") == ["sda"]


def test_profile_unknown_command_is_not_installed_and_missing_file_does_not_exist(make_profile):
    system = ProfileSystem(make_profile())
    assert system.run(["smartctl", "--json", "-x", "/dev/sda"]).missing
    # The same program with other arguments is a different command: not recorded = not there.
    assert system.read_text("/etc/fstab") is None
    assert not system.exists("/etc/fstab")
    assert system.listdir("/sys/block") == []


def test_profile_latency_is_honoured(make_profile):
    system = ProfileSystem(make_profile(commands=[{"argv": ["dmesg"], "stdout": "x", "latency_ms": 150}]))
    started = time.monotonic()
    system.run(["dmesg"])
    assert time.monotonic() - started >= 0.15


def test_profile_latency_beyond_the_timeout_is_a_timeout(make_profile):
    system = ProfileSystem(make_profile(commands=[{"argv": ["dmesg"], "stdout": "x", "latency_ms": 60_000}]))
    assert system.run(["dmesg"], timeout=0.05).timed_out


def test_profile_links_stay_inside_the_root(make_profile, tmp_path):
    profile = make_profile(
        files={"/sys/devices/pci0/ata1/block/sda/queue/rotational": "1\n", "/etc/passwd": "profile's own\n"},
        links={"/sys/block/sda": "../devices/pci0/ata1/block/sda", "/etc/evil": "/etc/passwd",
               "/etc/up": "../../../../../../../etc/passwd"},
    )
    system = ProfileSystem(profile)
    assert system.read_text("/sys/block/sda/queue/rotational") == "1\n"
    assert system.realpath("/sys/block/sda") == "/sys/devices/pci0/ata1/block/sda"
    assert system.readlink("/sys/block/sda") == "../devices/pci0/ata1/block/sda"
    # Absolute and climbing links are anchored at root/: they never reach the host's files.
    assert system.read_text("/etc/evil") == "profile's own\n"
    assert system.read_text("/etc/up") == "profile's own\n"


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("this is [not toml", "not valid TOML"),
        ("[[command]]\nargv = 'dmesg'\n", "argv must be a non-empty list"),
        ("[[command]]\nargv = ['dmesg']\nstdout = 'commands/missing.txt'\n", "cannot read stdout file"),
        ("[[command]]\nargv = ['dmesg']\nstdout = '../../etc/passwd'\n", "must be a path inside the profile"),
        ("[[command]]\nargv = ['dmesg']\nexit = 'zero'\n", "exit must be an integer"),
        ("command = 3\n", "array of tables"),
    ],
)
def test_garbled_profiles_are_a_profile_error(tmp_path, toml, expected):
    (tmp_path / "profile.toml").write_text(toml)
    with pytest.raises(ProfileError, match=expected):
        ProfileSystem(tmp_path)


def test_missing_profile_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="no such profile directory"):
        ProfileSystem(tmp_path / "nope")
    with pytest.raises(ProfileError, match="missing"):
        ProfileSystem(tmp_path)


def test_recording_replays_the_same_answers(tmp_path):
    (tmp_path / "dev" / "block" / "sda" / "queue").mkdir(parents=True)
    (tmp_path / "dev" / "block" / "sda" / "queue" / "scheduler").write_text("[none] mq-deadline\n")
    (tmp_path / "link").symlink_to(tmp_path / "dev" / "block")
    recorder = RecordingSystem(LiveSystem())
    asked = {
        "run": recorder.run(["sh", "-c", "printf 'a\\tb\\n'; echo e >&2; exit 2"]),
        "read": recorder.read_text(str(tmp_path / "link" / "sda" / "queue" / "scheduler")),
        "list": recorder.listdir(str(tmp_path / "link")),
        "link": recorder.readlink(str(tmp_path / "link")),
        "real": recorder.realpath(str(tmp_path / "link" / "sda")),
    }
    recorder.run(["ssdwizard-no-such-program"])
    replay = ProfileSystem(recorder.save(tmp_path / "profile", "t", "d"))
    again = replay.run(["sh", "-c", "printf 'a\\tb\\n'; echo e >&2; exit 2"])
    assert (again.exit_code, again.stdout, again.stderr) == (2, "a\tb\n", "e\n")
    assert replay.read_text(str(tmp_path / "link" / "sda" / "queue" / "scheduler")) == asked["read"]
    assert replay.listdir(str(tmp_path / "link")) == asked["list"] == ["sda"]
    assert replay.readlink(str(tmp_path / "link")) == asked["link"]
    assert replay.realpath(str(tmp_path / "link" / "sda")) == asked["real"]
    assert replay.run(["ssdwizard-no-such-program"]).missing


def test_command_slug_is_a_readable_file_name():
    assert command_slug(("hdparm", "-I", "/dev/sda")) == "hdparm-I-dev-sda.txt"
    assert command_slug(("lsblk", "--json", "--bytes", "--output-all")) == "lsblk-json-bytes-output-all.txt"


def test_recording_keeps_proc_self_a_directory(tmp_path):
    # /proc/self is whichever process reads it: a replay must not depend on the recorder's pid.
    recorder = RecordingSystem(LiveSystem())
    assert recorder.read_text("/proc/self/mountinfo")
    profile = recorder.save(tmp_path / "p", "t", "d")
    assert (profile / "root" / "proc" / "self").is_dir() and not (profile / "root" / "proc" / "self").is_symlink()
    assert ProfileSystem(profile).read_text("/proc/self/mountinfo")


def test_links_in_the_profile_table_are_followed_inside_the_root(tmp_path):
    profile = tmp_path / "p"
    (profile / "root" / "sys" / "devices" / "pci0" / "ata1" / "block" / "sda" / "queue").mkdir(parents=True)
    (profile / "root" / "sys" / "devices" / "pci0" / "ata1" / "block" / "sda" / "queue" / "rotational").write_text("0\n")
    (profile / "root" / "etc").mkdir()
    (profile / "root" / "etc" / "passwd").write_text("profile's own\n")
    (profile / "profile.toml").write_text(
        '[[link]]\npath = "/sys/block/sda"\ntarget = "../devices/pci0/ata1/block/sda"\n\n'
        '[[link]]\npath = "/etc/evil"\ntarget = "/../../../etc/passwd"\n')
    system = ProfileSystem(profile)
    assert system.listdir("/sys/block") == ["sda"]
    assert system.exists("/sys/block/sda") and system.is_dir("/sys/block/sda")
    assert system.readlink("/sys/block/sda") == "../devices/pci0/ata1/block/sda"
    assert system.realpath("/sys/block/sda/queue") == "/sys/devices/pci0/ata1/block/sda/queue"
    assert system.read_text("/sys/block/sda/queue/rotational") == "0\n"
    assert system.read_text("/etc/evil") == "profile's own\n"


def test_a_bad_link_entry_is_a_profile_error(tmp_path):
    (tmp_path / "profile.toml").write_text('[[link]]\npath = "sys/block/sda"\ntarget = "x"\n')
    with pytest.raises(ProfileError, match="needs an absolute path"):
        ProfileSystem(tmp_path)


def test_bundled_profiles_hold_no_symlinks():
    # Symlinks (sysfs is full of loops) make packaging tools recurse forever and are lost in
    # wheels and zip files: bundled profiles keep their links in profile.toml.
    from ssdwizard.data import PROFILES_DIR

    assert [p for p in PROFILES_DIR.rglob("*") if p.is_symlink()] == []


def test_a_recording_writes_links_into_the_toml_not_the_filesystem(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "link").symlink_to("real")
    recorder = RecordingSystem(LiveSystem())
    recorder.read_text(str(tmp_path / "link" / "f"))
    profile = recorder.save(tmp_path / "p", "t", "d")
    assert [p for p in (profile / "root").rglob("*") if p.is_symlink()] == []
    assert f'path = "{tmp_path}/link"' in (profile / "profile.toml").read_text()
    assert ProfileSystem(profile).read_text(str(tmp_path / "link" / "f")) == "x"
