"""Read-only 4 KiB random-read IOPS of a disk (issue 7), at queue depth 1 and 32.

The guide chooses disks by IOPS; this measures them without writing a byte: through ``fio``
(``--rw=randread --readonly --direct=1``, JSON output) when it is installed, else with the
built-in ``O_DIRECT`` reader of :class:`ssdwizard.system.BlockIO` (one thread per outstanding
read). Depth 1 shows latency, depth 32 what the disk can do in parallel.

The result is returned, not stored in the disks step's facts: a per-disk ``iops`` key there
would change the report contract (DESIGN §3.2); :func:`iops_fact` is the shape proposed for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.fio import parse_fio_json
from ssdwizard.system.base import CommandResult, System
from ssdwizard.system.blockio import BlockIO

BLOCK_SIZE = 4096
DEPTHS = (1, 32)
DEFAULT_SECONDS = 5.0
ProgressCallback = Callable[[str, float], None]


class IopsError(Exception):
    """The measurement cannot run (no such disk, no permission, fio failed); the message says why."""


@dataclass(frozen=True)
class DepthResult:
    depth: int
    iops: float
    mb_s: float  # 10^6 bytes per second
    p50_us: float | None
    p99_us: float | None
    ios: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "iops": round(self.iops, 1), "mb_s": round(self.mb_s, 2),
                "lat_p50_us": None if self.p50_us is None else round(self.p50_us, 1),
                "lat_p99_us": None if self.p99_us is None else round(self.p99_us, 1),
                "ios": self.ios, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class IopsResult:
    disk: str
    path: str
    engine: str  # "fio" or "builtin"
    block_size: int
    depths: tuple[DepthResult, ...]
    note: str = ""

    def text(self) -> str:
        lines = [f"{self.disk}: 4 KiB random reads, read-only, {self.engine}"
                 + (f" ({self.note})" if self.note else "")]
        for d in self.depths:
            lat = ("" if d.p50_us is None else f", latency p50 {d.p50_us:.0f} µs, p99 {d.p99_us:.0f} µs")
            lines.append(f"  queue depth {d.depth:>2}: {d.iops:>10,.0f} IOPS, {d.mb_s:8.1f} MB/s{lat}")
        return "\n".join(lines) + "\n"


def iops_fact(result: IopsResult) -> dict[str, Any]:
    """The disks step's per-disk ``iops`` fact (null until a measurement fills it)."""
    return {"engine": result.engine, "block_size": result.block_size,
            "depths": [d.to_dict() for d in result.depths]}


def percentile(sorted_values: Sequence[int], fraction: float) -> float:
    """The nearest-rank percentile (what fio reports) of sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values) - 1e-9)))
    return float(sorted_values[rank - 1])


def disk_path(system: System, disk: str) -> str:
    """``/dev/NAME`` for a whole disk name; :class:`IopsError` for anything else."""
    name = disk.removeprefix("/dev/")
    if "/" in name or not name:
        raise IopsError(f"{disk}: give a disk name such as sda or nvme0n1")
    if not system.exists(f"/sys/block/{name}"):
        if system.exists(f"/sys/class/block/{name}/partition"):
            raise IopsError(f"{name} is a partition: give the whole disk")
        raise IopsError(f"{name}: no such disk in /sys/block")
    return f"/dev/{name}"


def _fio_argv(path: str, depth: int, seconds: float) -> list[str]:
    engine = ["--ioengine=psync"] if depth == 1 else ["--ioengine=libaio", f"--iodepth={depth}"]
    return ["fio", "--name=ssdwizard-iops", f"--filename={path}", "--readonly", "--rw=randread",
            f"--bs={BLOCK_SIZE}", "--direct=1", *engine, f"--runtime={seconds:g}", "--time_based",
            "--norandommap", "--randrepeat=0", "--group_reporting", "--output-format=json"]


def _while_ticking(work: Callable[[], CommandResult], seconds: float, tick: Callable[[float], None],
                   cancel: threading.Event | None) -> CommandResult:
    """Run ``work`` in a helper thread and report time-based progress from this one, so that the
    caller's progress callback always runs on the caller's thread."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(_capture(work)), name="ssdwizard-fio", daemon=True)
    began = time.perf_counter()
    thread.start()
    while thread.is_alive():
        tick(min(1.0, (time.perf_counter() - began) / max(seconds, 0.001)))
        thread.join(0.1)
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _capture(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
        return exc


def _fio_depth(system: System, path: str, depth: int, seconds: float, tick: Callable[[float], None],
               cancel: threading.Event | None) -> DepthResult:
    argv = _fio_argv(path, depth, seconds)
    done = _while_ticking(lambda: system.run(argv, timeout=seconds + 60), seconds, tick, cancel)
    if not done.ok:
        raise IopsError(f"fio failed (exit {done.exit_code}): {(done.stderr or done.stdout).strip()[:300]}")
    try:
        read = parse_fio_json(done.stdout)
    except ParseError as exc:
        raise IopsError(str(exc)) from None
    p50 = read.percentiles_ns.get(50.0)
    p99 = read.percentiles_ns.get(99.0)
    return DepthResult(depth, read.iops, read.bandwidth_bytes / 1e6, None if p50 is None else p50 / 1000,
                       None if p99 is None else p99 / 1000, read.total_ios, read.runtime_ms / 1000)


def _builtin_depth(io: BlockIO, path: str, depth: int, seconds: float, tick: Callable[[float], None],
                   cancel: threading.Event | None) -> DepthResult:
    run = io.random_reads(path, BLOCK_SIZE, depth, seconds, cancel=cancel, on_tick=tick)
    latencies = sorted(run.latencies_ns)
    iops = len(latencies) / run.elapsed_s if run.elapsed_s else 0.0
    return DepthResult(depth, iops, iops * BLOCK_SIZE / 1e6, percentile(latencies, 0.50) / 1000,
                       percentile(latencies, 0.99) / 1000, len(latencies), run.elapsed_s)


def fio_available(system: System) -> bool:
    return system.run(["fio", "--version"]).ok


def measure_iops(system: System, disk: str, seconds: float = DEFAULT_SECONDS, depths: Sequence[int] = DEPTHS,
                 engine: str | None = None, on_progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> IopsResult:
    """Measure ``disk`` at each depth for ``seconds``. ``engine``: "fio", "builtin", or None for
    fio when installed. ``on_progress(phase, fraction of the whole)`` runs on this thread; the
    phase names the depth ("depth 32"). ``cancel`` stops the built-in reader at once and fio
    after the depth that is running."""
    io = BlockIO.on(system)
    if io is None:
        raise IopsError("the IOPS measurement reads a real disk: it runs on this machine, not on a recorded profile")
    path = disk_path(system, disk)
    note = ""
    if engine is None:
        engine = "fio" if fio_available(system) else "builtin"
        if engine == "builtin":
            note = "fio is not installed (apt install fio); the built-in O_DIRECT reader was used"
    results = []
    for index, depth in enumerate(depths):
        if cancel is not None and cancel.is_set():
            break
        phase = f"depth {depth}"

        def tick(fraction: float, index: int = index, phase: str = phase) -> None:
            if on_progress is not None:
                on_progress(phase, (index + fraction) / len(depths))

        try:
            if engine == "fio":
                results.append(_fio_depth(system, path, depth, seconds, tick, cancel))
            else:
                results.append(_builtin_depth(io, path, depth, seconds, tick, cancel))
        except OSError as exc:
            raise IopsError(f"{path}: {exc.strerror or exc} (run as root)") from None
    if on_progress is not None:
        on_progress("done", 1.0)
    return IopsResult(disk.removeprefix("/dev/"), path, engine, BLOCK_SIZE, tuple(results), note)
