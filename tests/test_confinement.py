"""A machine profile is untrusted input (DESIGN §3.1): it comes from a bug report.

Whatever links it holds, ``--machine DIR`` reads and ``--apply … --yes --machine DIR`` writes
only inside DIR. Links are anchored at the profile's ``root/`` (an absolute target names a file
of the recorded machine, not of this host); what cannot be resolved there (``root/`` itself a
link, a loop, a command's stdout file reached through a link) is refused with one line on
stderr and exit 3, before anything runs or is written.

Every hostile profile points at a canary folder in the test's tmp dir, outside the profile:
its bytes must stay as they were and its text must never show in a report.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import cli, report
from ssdwizard.data import PROFILES_DIR
from ssdwizard.system import (
    MAX_LINK_HOPS,
    ProfileError,
    ProfileEscape,
    ProfileSystem,
    SymlinkLoop,
    follow_links,
    resolve_in_root,
)

APPLY_ALL = "mount,trim,scheduler,ceph,migration"
CANARY = "CANARY-7f3a"
VIRTIO_SCHEDULER = "sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/queue/scheduler"


# ---- helpers --------------------------------------------------------------------------------------

def make_canary(tmp_path: Path) -> Path:
    """Host files a hostile profile aims at: an fstab, a datacenter.cfg, a scheduler file, a
    dmesg with an AHCI banner (so that a leak would show as evidence), empty folders for udev
    rules and the journal."""
    host = tmp_path / "host"
    (host / "etc" / "udev" / "rules.d").mkdir(parents=True)
    (host / "etc" / "fstab").write_text(f"/dev/sda1 / ext4 errors=remount-ro 0 1 # {CANARY}\n")
    (host / "datacenter.cfg").write_text(f"keyboard: en-us\n# {CANARY}\n")
    (host / "sched").write_text("[mq-deadline] kyber bfq none\n")
    dmesg = (PROFILES_DIR / "pve-ceph-node" / "commands" / "dmesg.txt").read_text()
    (host / "dmesg.txt").write_text(dmesg.replace("SATA mode", f"SATA mode {CANARY}"))
    (host / "state").mkdir()
    (host / "rules").mkdir()
    return host


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str | None]]:
    """Every entry below ``folder``: its kind and bytes (a link: its target)."""
    seen: dict[str, tuple[str, bytes | str | None]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            seen[str(path)] = ("link", os.readlink(path))
        elif path.is_dir():
            seen[str(path)] = ("dir", None)
        else:
            seen[str(path)] = ("file", path.read_bytes())
    return seen


def apply_all(capsys, profile: Path) -> tuple[int, str, str]:
    return cli(capsys, "--apply", APPLY_ALL, "--yes", "--machine", str(profile))


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    """Exit 3, nothing on stdout, and exactly one line on stderr that says why."""
    assert code == 3, (code, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ssdwizard: ")
    assert "internal error" not in err and "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    assert CANARY not in err


def assert_no_step_error(out: str) -> None:
    steps = json.loads(out)["steps"]
    assert [s["id"] for s in steps if s["status"] == "error"] == []


def link(path: Path, target: str | Path) -> None:
    """Replace ``path`` (file, folder or nothing) by a symlink to ``target``."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def inside(root: Path, host_path: Path) -> Path:
    """Where the machine path equal to a host path lives in the profile (``root/tmp/…``)."""
    return root / str(host_path).lstrip("/")


# ---- hostile profiles that are refused at load ----------------------------------------------------

def etc_loops_to_the_canary(profile: Path, host: Path) -> None:
    # root/etc -> /V/etc and root/V/etc -> /V/etc: anchored, /V/etc is a loop; the OS would
    # follow the second link to the host's /V/etc. Today's walk gave up after 40 hops and
    # handed exactly that path to open().
    root = profile / "root"
    link(root / "etc", host / "etc")
    link(inside(root, host / "etc"), host / "etc")


def root_is_a_link_to_a_host_copy(profile: Path, host: Path) -> None:
    fake = host / "fakeroot"
    shutil.copytree(profile / "root", fake)
    (fake / "etc" / "fstab").write_text((host / "etc" / "fstab").read_text())
    link(profile / "root", fake)


def scheduler_loops_to_the_canary(profile: Path, host: Path) -> None:
    root = profile / "root"
    link(root / VIRTIO_SCHEDULER, host / "sched")
    link(inside(root, host / "sched"), host / "sched")


def datacenter_cfg_loops_to_the_canary(profile: Path, host: Path) -> None:
    root = profile / "root"
    link(root / "etc" / "pve" / "datacenter.cfg", host / "datacenter.cfg")
    link(inside(root, host / "datacenter.cfg"), host / "datacenter.cfg")


def journal_dir_loops_to_the_canary(profile: Path, host: Path) -> None:
    root = profile / "root"
    link(root / "var" / "lib" / "ssdwizard", host / "state")
    link(inside(root, host / "state"), host / "state")


def dmesg_stdout_is_a_link(profile: Path, host: Path) -> None:
    link(profile / "commands" / "dmesg.txt", host / "dmesg.txt")


def commands_folder_is_a_link(profile: Path, host: Path) -> None:
    shutil.copytree(profile / "commands", host / "commands")
    (host / "commands" / "dmesg.txt").write_text((host / "dmesg.txt").read_text())
    link(profile / "commands", host / "commands")


def table_link_loops(profile: Path, host: Path) -> None:
    # A [[link]] entry whose target leads back to itself, mixed with a real link in root/.
    toml = profile / "profile.toml"
    toml.write_text(toml.read_text() + f'\n[[link]]\npath = "/etc"\ntarget = "{host}/etc"\n')
    link(inside(profile / "root", host / "etc"), host / "etc")


REFUSED = [
    ("pve-ceph-node", etc_loops_to_the_canary, "loop"),
    ("pve-ceph-node", root_is_a_link_to_a_host_copy, "root"),
    ("vm-virtio", scheduler_loops_to_the_canary, "loop"),
    ("pve-ceph-node", datacenter_cfg_loops_to_the_canary, "loop"),
    ("pve-ceph-node", journal_dir_loops_to_the_canary, "loop"),
    ("pve-ceph-node", dmesg_stdout_is_a_link, "dmesg.txt"),
    ("pve-ceph-node", commands_folder_is_a_link, "commands"),
    ("pve-ceph-node", table_link_loops, "loop"),
]


@pytest.mark.parametrize("demo, hostile, word", REFUSED, ids=[case[1].__name__ for case in REFUSED])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_profile_that_leaves_its_directory_is_refused_by_the_report(tmp_path, capsys, profile_copy, demo, hostile,
                                                                      word, fmt):
    host = make_canary(tmp_path)
    profile = profile_copy(demo)
    hostile(profile, host)
    before = snapshot(host)
    code, out, err = report(capsys, profile, fmt)
    assert_refused(code, out, err, "cannot replay the profile", word)
    assert snapshot(host) == before


@pytest.mark.parametrize("demo, hostile, word", REFUSED, ids=[case[1].__name__ for case in REFUSED])
def test_a_profile_that_leaves_its_directory_is_refused_by_apply(tmp_path, capsys, profile_copy, demo, hostile, word):
    host = make_canary(tmp_path)
    profile = profile_copy(demo)
    hostile(profile, host)
    before = snapshot(host)
    code, out, err = apply_all(capsys, profile)
    assert_refused(code, out, err, "cannot replay the profile", word)
    assert snapshot(host) == before


@pytest.mark.parametrize("target", ["/etc", "/"])
def test_links_to_this_hosts_real_etc_and_root_are_refused(tmp_path, capsys, profile_copy, target):
    # Read-only runs only: the refusal comes at load, before any probe reads a file. (The apply
    # side of the same cases runs against canaries above, never against this host's /etc.)
    profile = profile_copy("pve-ceph-node")
    if target == "/etc":
        link(profile / "root" / "etc", "/etc")
    else:
        link(profile / "root", "/")
    host_fstab = Path("/etc/fstab").read_text() if Path("/etc/fstab").is_file() else ""
    code, out, err = report(capsys, profile)
    assert_refused(code, out, err, "cannot replay the profile")
    for line in host_fstab.splitlines():
        if line.strip() and not line.startswith("#"):
            assert line not in err
    with pytest.raises(ProfileEscape):
        ProfileSystem(profile)


def test_a_subprocess_run_of_a_looping_profile_says_one_line_and_exits_3(tmp_path, profile_copy):
    import subprocess
    import sys

    host = make_canary(tmp_path)
    profile = profile_copy("pve-ceph-node")
    etc_loops_to_the_canary(profile, host)
    for argv in (["--headless", "--report", "--machine", str(profile)],
                 ["--apply", APPLY_ALL, "--yes", "--machine", str(profile)]):
        done = subprocess.run([sys.executable, "-m", "ssdwizard", *argv], capture_output=True, text=True,
                              timeout=60, check=False)
        assert_refused(done.returncode, done.stdout, done.stderr, "loop")


# ---- hostile links that resolve inside the root: accepted, and confined --------------------------

def etc_points_at_the_canary(profile: Path, host: Path) -> None:
    # An absolute target names the recorded machine's path: root/<host>/etc, which the
    # profile does not hold. The OS would follow it to the canary.
    link(profile / "root" / "etc", host / "etc")


def scheduler_points_at_the_canary(profile: Path, host: Path) -> None:
    link(profile / "root" / VIRTIO_SCHEDULER, host / "sched")


def scheduler_climbs_to_the_canary(profile: Path, host: Path) -> None:
    # A relative target with enough ../ to leave the profile on the host; anchored, the
    # climb stops at root/.
    file = profile / "root" / VIRTIO_SCHEDULER
    link(file, os.path.relpath(host / "sched", file.parent))


def udev_rules_point_at_the_canary(profile: Path, host: Path) -> None:
    link(profile / "root" / "etc" / "udev" / "rules.d", host / "rules")


def journal_points_at_the_canary(profile: Path, host: Path) -> None:
    link(profile / "root" / "var" / "lib" / "ssdwizard", host / "state")


def datacenter_cfg_climbs_to_the_canary(profile: Path, host: Path) -> None:
    file = profile / "root" / "etc" / "pve" / "datacenter.cfg"
    link(file, os.path.relpath(host / "datacenter.cfg", file.parent))


CONFINED = [
    ("pve-ceph-node", etc_points_at_the_canary),
    ("vm-virtio", scheduler_points_at_the_canary),
    ("vm-virtio", scheduler_climbs_to_the_canary),
    ("vm-virtio", udev_rules_point_at_the_canary),
    ("pve-ceph-node", journal_points_at_the_canary),
    ("pve-ceph-node", datacenter_cfg_climbs_to_the_canary),
]


@pytest.mark.parametrize("demo, hostile", CONFINED, ids=[case[1].__name__ for case in CONFINED])
def test_links_anchored_at_the_root_never_reach_the_host(tmp_path, capsys, profile_copy, demo, hostile):
    host = make_canary(tmp_path)
    profile = profile_copy(demo)
    hostile(profile, host)
    before = snapshot(host)
    code, out, err = report(capsys, profile)
    assert code in (0, 1, 2), err
    assert CANARY not in out and CANARY not in err
    assert_no_step_error(out)
    code, out, err = apply_all(capsys, profile)
    assert "internal error" not in err and CANARY not in out + err
    assert code in (0, 1, 2, 3), err
    assert snapshot(host) == before
    # Whatever apply wrote (a udev rule, the journal) went below the profile's root/.
    code, out, err = report(capsys, profile)
    assert code in (0, 1, 2) and CANARY not in out


def test_apply_through_an_anchored_udev_link_writes_inside_the_root(tmp_path, capsys, profile_copy):
    host = make_canary(tmp_path)
    profile = profile_copy("vm-virtio")
    udev_rules_point_at_the_canary(profile, host)
    code, _, err = apply_all(capsys, profile)
    assert code == 0, err
    assert list((host / "rules").iterdir()) == []
    written = list(inside(profile / "root", host / "rules").iterdir())
    assert [p.name for p in written] == ["60-ssdwizard-scheduler.rules"]


# ---- the walk itself -----------------------------------------------------------------------------

def test_follow_links_allows_40_hops_and_refuses_the_41st():
    def chain(length: int):
        table = {f"/l{i}": f"/l{i + 1}" for i in range(length)}
        return table.get

    assert follow_links("/l0/x", chain(MAX_LINK_HOPS)) == f"/l{MAX_LINK_HOPS}/x"
    with pytest.raises(SymlinkLoop):
        follow_links("/l0/x", chain(MAX_LINK_HOPS + 1))
    with pytest.raises(SymlinkLoop):
        follow_links("/a", {"/a": "/a"}.get)


def test_resolve_in_root_refuses_a_loop_instead_of_handing_the_os_a_link(tmp_path):
    host = make_canary(tmp_path)
    root = tmp_path / "p" / "root"
    root.mkdir(parents=True)
    link(root / "etc", host / "etc")
    link(inside(root, host / "etc"), host / "etc")
    with pytest.raises(ProfileEscape, match="loop"):
        resolve_in_root(root, "/etc/fstab")


def test_a_long_chain_of_links_inside_the_root_is_refused_at_load(make_profile):
    links = {f"/l{i}": f"/l{i + 1}" for i in range(MAX_LINK_HOPS + 1)}
    profile = make_profile(links=links, files={f"/l{MAX_LINK_HOPS + 1}/f": "x"})
    with pytest.raises(ProfileEscape, match="loop"):
        ProfileSystem(profile)
    short = make_profile(links={f"/l{i}": f"/l{i + 1}" for i in range(5)}, files={"/l5/f": "x"})
    assert ProfileSystem(short).read_text("/l0/f") == "x"


def test_a_file_swapped_for_a_link_after_load_is_refused_at_open(make_profile, tmp_path):
    # The load-time check is not the only one: every open refuses a link at the end
    # (O_NOFOLLOW) or anywhere on the way (the real path must stay below root/).
    host = make_canary(tmp_path)
    profile = make_profile(files={"/etc/fstab": "/dev/sda1 / ext4 defaults 0 1\n", "/etc/hosts": "127.0.0.1 a\n"})
    system = ProfileSystem(profile)
    # Resolved (and cached) while the profile was sound.
    assert system.read_text("/etc/fstab") and system.read_text("/etc/hosts") and system.listdir("/etc")
    link(profile / "root" / "etc" / "fstab", host / "etc" / "fstab")
    with pytest.raises(ProfileEscape):
        system.read_text("/etc/fstab")
    link(profile / "root" / "etc", host / "etc")
    with pytest.raises(ProfileEscape):
        system.read_text("/etc/hosts")
    with pytest.raises(ProfileEscape):
        system.listdir("/etc")
    # A path first asked for now is resolved afresh, anchored: the link names root/<host>/etc.
    assert system.read_text("/etc/passwd") is None


def test_links_that_stay_inside_are_still_followed(make_profile):
    # The hardening keeps what profiles rely on: relative and absolute links inside root/.
    profile = make_profile(
        files={"/sys/devices/pci0/block/sda/queue/rotational": "0\n", "/etc/real": "mine\n"},
        links={"/sys/block/sda": "../devices/pci0/block/sda", "/etc/abs": "/etc/real",
               "/etc/dangling": "/nowhere/at/all"},
    )
    system = ProfileSystem(profile)
    assert system.read_text("/sys/block/sda/queue/rotational") == "0\n"
    assert system.read_text("/etc/abs") == "mine\n"
    assert system.read_text("/etc/dangling") is None
    assert system.exists("/etc/dangling")


def test_a_profile_escape_is_a_profile_error():
    # The CLI maps every ProfileError to exit 3; the runner lets it through.
    assert issubclass(ProfileEscape, ProfileError)
