"""The TRIM read-back test and the IOPS measurement for real, as root, on loop devices.

Every loop device is detached by its path and every mount unmounted in a ``finally``. The loop
driver turns a discard into a hole punch in its backing file, so a backing file on a
filesystem that punches holes (ext4, tmpfs) reads back zeros after fstrim, and one on ramfs
(no fallocate) gets ``discard_max_bytes`` 0: the negative case, with the loop layer named.
No timings are asserted here (bench/ measures speed).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading

import pytest

from ssdwizard.cli import run
from ssdwizard.active.iops import measure_iops
from ssdwizard.system import LiveSystem
from ssdwizard.active.trimtest import FILE_PREFIX, Verdict, plan_trim_test, run_trim_test, trim_test

MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="loop devices, mounts and raw reads need root")


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


@contextlib.contextmanager
def loop_device(backing, size: int, direct_io: bool = False):
    with open(backing, "wb") as handle:
        handle.truncate(size)
    argv = ["losetup", "--find", "--show", *(["--direct-io=on"] if direct_io else []), str(backing)]
    made = subprocess.run(argv, capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    device = made.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


@contextlib.contextmanager
def mounted(device: str, where, fstype: str):
    need(f"mkfs.{fstype}")
    mkfs = {"ext4": ["mkfs.ext4", "-q", "-F"], "xfs": ["mkfs.xfs", "-q", "-f"], "btrfs": ["mkfs.btrfs", "-q", "-f"]}
    done = subprocess.run([*mkfs[fstype], device], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mkfs.{fstype} failed: {done.stderr.strip()[:200]}")
    where.mkdir()
    done = subprocess.run(["mount", "-t", fstype, device, str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount {fstype}: {done.stderr.strip()}")
    try:
        yield str(where)
    finally:
        subprocess.run(["umount", str(where)], check=False)


@contextlib.contextmanager
def ramfs(where):
    where.mkdir()
    done = subprocess.run(["mount", "-t", "ramfs", "ramfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount ramfs: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def discard_max(device: str) -> int:
    with open(f"/sys/block/{os.path.basename(device)}/queue/discard_max_bytes") as handle:
        return int(handle.read())


def leftovers(mount_point: str) -> list[str]:
    return [n for n in os.listdir(mount_point) if n.startswith(FILE_PREFIX)]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def ext4_with_discard(tmp_path):
    """ext4 on a loop device over a file on the tmp dir's filesystem, which must punch holes."""
    need("fstrim")
    with loop_device(tmp_path / "ext4.img", 128 * MIB) as device:
        if discard_max(device) == 0:
            pytest.skip(f"{device} has discard_max_bytes 0: the tmp dir's filesystem cannot punch holes")
        with mounted(device, tmp_path / "mnt", "ext4") as mount_point:
            yield device, mount_point


def test_ext4_on_a_loop_device_that_punches_holes_reads_zeros_after_trim(ext4_with_discard):
    device, mount_point = ext4_with_discard
    phases: list[tuple[str, float]] = []
    outcome = trim_test(LiveSystem(), mount_point, on_progress=lambda p, f: phases.append((p, f)))
    assert outcome.verdict is Verdict.WORKS, outcome.message
    assert outcome.reading == "zeros" and outcome.counts["zeros"] == outcome.plan.file_size == 16 * MIB
    assert outcome.plan.device_path == device and outcome.fstrim.ok
    assert "--offset" in outcome.fstrim.argv
    assert list(dict.fromkeys(p for p, _ in phases)) == [
        "plan", "write", "map", "read-before", "delete", "sync", "fstrim", "read-after"]
    fractions = [f for _, f in phases]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert leftovers(mount_point) == []


def test_the_headless_command_reports_zeros_and_fills_verified(ext4_with_discard):
    _, mount_point = ext4_with_discard
    code, out, err = cli("--headless", "--trim-test", mount_point, "--yes", "--format", "json")
    assert code == 0, err
    trim = json.loads(out)["steps"][0]
    assert trim["id"] == "trim" and trim["facts"]["verified"] is True
    assert "read back as zeros" in trim["findings"][-1]["message"]
    assert "trim test: fstrim" in err
    assert leftovers(mount_point) == []


def test_without_yes_it_only_says_what_it_would_do(ext4_with_discard):
    _, mount_point = ext4_with_discard
    before = sorted(os.listdir(mount_point))
    code, out, _ = cli("--headless", "--trim-test", mount_point)
    assert code == 1
    assert "Nothing was written" in out and "fstrim" in out
    assert sorted(os.listdir(mount_point)) == before


def test_xfs_on_a_loop_device_reads_zeros_after_trim(tmp_path):
    need("fstrim")
    with loop_device(tmp_path / "xfs.img", 320 * MIB) as device:
        if discard_max(device) == 0:
            pytest.skip("the tmp dir's filesystem cannot punch holes")
        with mounted(device, tmp_path / "mnt", "xfs") as mount_point:
            outcome = trim_test(LiveSystem(), mount_point)
            assert outcome.verdict is Verdict.WORKS, outcome.message
            assert leftovers(mount_point) == []


def test_a_loop_device_over_ramfs_gets_no_discard_and_the_loop_layer_is_named(tmp_path):
    need("fstrim")
    with ramfs(tmp_path / "ramfs") as folder, loop_device(folder / "ext4.img", 64 * MIB) as device:
        assert discard_max(device) == 0  # ramfs has no fallocate: the loop driver offers no discard
        with mounted(device, tmp_path / "mnt", "ext4") as mount_point:
            outcome = trim_test(LiveSystem(), mount_point)
            assert outcome.verdict is Verdict.DID_NOT_REACH, outcome.message
            assert outcome.reading == "unchanged"
            assert outcome.blocked_at.kname == os.path.basename(device) and outcome.blocked_at.kind == "loop"
            assert "ramfs" in outcome.message and "hole" in outcome.advice
            assert not outcome.fstrim.ok
            code, out, _ = cli("--headless", "--trim-test", mount_point, "--yes", "--format", "json")
            assert code == 1
            trim = json.loads(out)["steps"][0]
            assert trim["facts"]["verified"] is False and trim["status"] == "warn"
            assert leftovers(mount_point) == []


def test_btrfs_is_refused_with_the_reason(tmp_path):
    need("mkfs.btrfs")
    with loop_device(tmp_path / "btrfs.img", 256 * MIB) as device:
        with mounted(device, tmp_path / "mnt", "btrfs") as mount_point:
            outcome = trim_test(LiveSystem(), mount_point)
            assert outcome.verdict is Verdict.REFUSED
            assert "logical addresses" in outcome.message
            code, _, err = cli("--headless", "--trim-test", mount_point, "--yes")
            assert code == 3 and "btrfs is refused" in err
            assert leftovers(mount_point) == []


def test_cancel_stops_the_test_and_removes_its_file(ext4_with_discard):
    _, mount_point = ext4_with_discard
    cancel = threading.Event()

    def progress(phase: str, fraction: float) -> None:
        if phase == "read-before":
            cancel.set()

    outcome = run_trim_test(LiveSystem(), plan_trim_test(LiveSystem(), mount_point), on_progress=progress,
                            cancel=cancel)
    assert outcome.verdict is Verdict.COULD_NOT_RUN and "cancelled" in outcome.message
    assert leftovers(mount_point) == []


def test_ctrl_c_in_the_middle_still_removes_the_file(ext4_with_discard):
    _, mount_point = ext4_with_discard

    def progress(phase: str, fraction: float) -> None:
        if phase == "map":
            assert leftovers(mount_point)  # the file exists now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trim_test(LiveSystem(), plan_trim_test(LiveSystem(), mount_point), on_progress=progress)
    assert leftovers(mount_point) == []


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def data_loop(tmp_path):
    """A loop device over 32 MiB of real (non-zero) data, so that reads are not of holes."""
    backing = tmp_path / "data.img"
    with loop_device(backing, 32 * MIB) as device:
        with open(device, "wb") as handle:
            handle.write(os.urandom(32 * MIB))
        digest = sha(backing)
        yield device
        assert sha(backing) == digest  # the measurement never wrote


@pytest.mark.parametrize("engine", ["builtin", "fio"])
def test_iops_on_a_loop_device_reads_only_and_reports_each_depth(data_loop, engine):
    if engine == "fio":
        need("fio")
    phases: list[str] = []
    result = measure_iops(LiveSystem(), os.path.basename(data_loop), seconds=0.5, engine=engine,
                          on_progress=lambda p, f: phases.append(p))
    assert result.engine == engine and [d.depth for d in result.depths] == [1, 32]
    for depth in result.depths:
        assert depth.ios > 0 and depth.iops > 0 and depth.mb_s > 0
        assert 0 < depth.p50_us <= depth.p99_us
    assert phases[0] == "depth 1" and "depth 32" in phases and phases[-1] == "done"


def test_iops_headless_json(data_loop, monkeypatch):
    import ssdwizard.active.iops

    monkeypatch.setattr(ssdwizard.active.iops, "DEFAULT_SECONDS", 0.3)
    code, out, err = cli("--headless", "--iops", os.path.basename(data_loop), "--format", "json")
    assert code == 0, err
    figures = json.loads(out)["iops"]
    assert [d["depth"] for d in figures["depths"]] == [1, 32]


def test_iops_refuses_a_partition_or_an_unknown_disk():
    code, _, err = cli("--headless", "--iops", "no-such-disk0")
    assert code == 3 and "no such disk" in err
