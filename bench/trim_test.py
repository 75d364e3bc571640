"""The TRIM read-back test's wall time beside the sum of its raw phases, on ext4 on a loop
device. Goal (issue 7): within 2x of that sum. Usage (as root):

    python bench/trim_test.py [--runs 7]

The raw phases are done the plainest way, outside ssdwizard: write the same 16 MiB with
os.write and fsync, read it back O_DIRECT from the device, unlink, sync, fstrim (the same
range), read again. The test itself is ``trimtest.trim_test`` (plan, progress, FIEMAP, checks).
"""

from __future__ import annotations

import argparse
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loop import ext4_mount, loop_device, require_root

from ssdwizard.system.blockio import BlockIO
from ssdwizard.system.live import LiveSystem
from ssdwizard.active.trimtest import Pattern, pieces_from_extents, trim_test

SIZE = 16 * 1024 * 1024


def read_direct(device: str, pieces) -> None:
    fd = os.open(device, os.O_RDONLY | os.O_DIRECT)
    buffer = mmap.mmap(-1, 1024 * 1024)
    try:
        for piece in pieces:
            for at in range(0, piece.length, len(buffer)):
                os.preadv(fd, [memoryview(buffer)[:min(len(buffer), piece.length - at)]], piece.physical + at)
    finally:
        buffer.close()
        os.close(fd)


def raw_phases(device: str, mount_point: str) -> float:
    """The same work done plainly; FIEMAP is not counted (it is the test's own bookkeeping)."""
    path = os.path.join(mount_point, "raw-phases.bin")
    data = Pattern("0" * 16).bytes_at(0, SIZE)
    began = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    written = time.perf_counter()
    pieces = pieces_from_extents(BlockIO(LiveSystem()).fiemap(path), SIZE)
    resumed = time.perf_counter()
    read_direct(device, pieces)
    os.unlink(path)
    os.sync()
    start = min(p.physical for p in pieces)
    end = max(p.physical + p.length for p in pieces)
    subprocess.run(["fstrim", "--offset", str(start), "--length", str(end - start), mount_point], check=True)
    read_direct(device, pieces)
    return (written - began) + (time.perf_counter() - resumed)


def command_cost(system: LiveSystem) -> float:
    """What LiveSystem.run adds to any command (measured with `true`)."""
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        system.run(["true"])
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    require_root()
    system = LiveSystem()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        with loop_device(f"{scratch}/ext4.img", 256 * 1024 * 1024) as device, \
                ext4_mount(device, f"{scratch}/mnt") as mount_point:
            raw, whole, phases = [], [], []
            for _ in range(args.runs):  # alternating, so that both see the same cache state
                raw.append(raw_phases(device, mount_point))
                began = time.perf_counter()
                outcome = trim_test(system, mount_point)
                whole.append(time.perf_counter() - began)
                phases.append(outcome.timings)
                assert outcome.verdict.value == "works", outcome.message
    raw_s, whole_s = statistics.median(raw), statistics.median(whole)
    cost = command_cost(system)
    print(f"ext4 on a loop device, 16 MiB test file, median of {args.runs} runs")
    print(f"sum of the raw phases (write+fsync, read, unlink, sync, fstrim, read)  {raw_s * 1000:7.1f} ms")
    print(f"trimtest.trim_test (plan to verdict)                                  {whole_s * 1000:7.1f} ms")
    print(f"ratio                                                                  {whole_s / raw_s:7.2f}x")
    print(f"LiveSystem.run's own cost per command (`true`)                         {cost * 1000:7.1f} ms")
    print(f"ratio without that fixed cost (fstrim runs through LiveSystem.run)     {(whole_s - cost) / raw_s:7.2f}x")
    print("the test's phases (median ms): " + ", ".join(
        f"{name} {statistics.median(p[name] for p in phases) * 1000:.1f}" for name in phases[0]))


if __name__ == "__main__":
    main()
