"""The TRIM read-back test (issue 7): does a TRIM sent by ``fstrim`` reach the disk?

The guide downloads a shell script for this; here it is done natively and more carefully:

1. write a file of max(16 MiB, 4 × discard granularity) on the mounted filesystem, each 4 KiB
   of it a recognisable line (``ssdwizard trim test <nonce> block <n>``) repeated, and fsync it;
2. map it to the filesystem's block device with FIEMAP (``FIEMAP_FLAG_SYNC``), refusing any
   extent whose bytes are not plainly at the address it names (unknown, delalloc, inline,
   encoded, encrypted, unwritten, shared);
3. read those ranges from the device ``O_RDONLY | O_DIRECT``: the pattern must be there, else
   the mapping cannot be trusted and the test stops ("mapping mismatch");
4. delete the file, sync, ``fstrim`` the mount point (only the range the file occupied, rounded
   out to the discard granularity), read the ranges again and classify what is there.

Which device is read: the filesystem's own block device (the partition, LV or dm-crypt node
that mountinfo's ``major:minor`` names, found through ``/sys/dev/block/M:m``), not the whole
disk. FIEMAP's physical addresses are offsets on exactly that device, so reading its node
needs no partition-offset or LVM-extent arithmetic, and on dm-crypt it is the only place where
the pattern is readable at all (the disk below holds ciphertext).

btrfs is refused: its FIEMAP addresses are logical addresses in btrfs's own chunk space, which
maps to one or more devices (RAID1, DUP) at other offsets, so a read of the device at that
address reads something else.

The verdict (DESIGN §1 row 4: informational unless the disk reports RZAT):

- zeros: TRIM reaches the disk (old data cannot turn into zeros otherwise); with RZAT it is
  the promised behaviour;
- unchanged: TRIM did not reach the disk, and the first layer of the stack whose
  ``queue/discard_max_bytes`` is 0 is named; without such a layer and without RZAT it is
  "inconclusive" (a disk without RZAT may go on returning old data after a TRIM);
- 0xFF: reached the disk; a failure only on a disk that promises zeros (RZAT);
- other data: inconclusive (the filesystem reused the blocks, or dm-crypt decrypted zeroed
  sectors into noise).

Safety: the raw device is only ever opened read-only; the test's own file is removed whatever
happens (exception, Ctrl-C, cancel), by a ``finally``. All I/O goes through
:class:`ssdwizard.system.BlockIO`.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from ssdwizard.machine.block_stack import Layer, queue_dir, walk_up
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import mountinfo as mountinfo_parser
from ssdwizard.system.base import CommandResult, System
from ssdwizard.system.blockio import BlockIO, Extent

MIN_FILE_BYTES = 16 * 1024 * 1024
UNIT = 4096  # one pattern line repeated fills a unit; reads are classified per unit
FILE_PREFIX = ".ssdwizard-trimtest-"
SUPPORTED_FS = frozenset({"ext4", "ext3", "ext2", "xfs"})
MOUNTINFO = "/proc/self/mountinfo"
ProgressCallback = Callable[[str, float], None]

# FIEMAP_EXTENT_* (linux/fiemap.h) that mean "the bytes are not plainly at fe_physical".
_BAD_EXTENT_FLAGS = {
    0x00000002: "unknown (data location unknown)",
    0x00000004: "delalloc (not yet allocated)",
    0x00000008: "encoded (compressed or otherwise transformed)",
    0x00000080: "encrypted",
    0x00000100: "not block-aligned",
    0x00000200: "inline (stored in the inode)",
    0x00000400: "tail-packed",
    0x00000800: "unwritten (preallocated)",
    0x00002000: "shared (reflinked or deduplicated)",
}

# Phases in order, with their share of the progress bar (roughly their share of the time).
PHASES = (("plan", 0.02), ("write", 0.25), ("map", 0.03), ("read-before", 0.2), ("delete", 0.02),
          ("sync", 0.08), ("fstrim", 0.2), ("read-after", 0.2))


class Verdict(str, Enum):
    WORKS = "works"
    DID_NOT_REACH = "did-not-reach"
    INCONCLUSIVE = "inconclusive"
    FAILED = "failed"
    REFUSED = "refused"
    COULD_NOT_RUN = "could-not-run"

    @property
    def exit_code(self) -> int:
        """Headless exit codes: 0 TRIM works, 1 inconclusive / did not reach, 2 failure,
        3 refused / could not run (a mapping mismatch says nothing about TRIM: 3, not 2)."""
        return {"works": 0, "did-not-reach": 1, "inconclusive": 1, "failed": 2}.get(self.value, 3)

    @property
    def verified(self) -> bool | None:
        """The trim step's ``verified`` fact: proven to work, proven not to, or not known."""
        return {"works": True, "did-not-reach": False, "failed": False}.get(self.value)


class TrimTestRefused(Exception):
    """The test will not run here; the message says why, before anything was written."""


@dataclass(frozen=True)
class TrimTestPlan:
    """Everything decided before anything is written: what the admin confirms."""

    mount_point: str
    fstype: str
    source: str
    device: tuple[int, int]
    device_path: str
    #: Every path from the filesystem's device down to a disk, top first.
    stack: tuple[tuple[Layer, ...], ...]
    discard_granularity: int
    discard_max_bytes: int | None
    file_size: int
    file_path: str
    nonce: str

    @property
    def disks(self) -> tuple[str, ...]:
        """The whole disks at the bottom of the stack (where RZAT is asked)."""
        return tuple(dict.fromkeys(path[-1].kname for path in self.stack if path))

    def describe(self) -> list[str]:
        mib = self.file_size / 2**20
        return [  # noqa: ISC004 - one list item per sentence, wrapped
            f"Mount point {self.mount_point}: {self.fstype} on {self.device_path} "
            f"({self.device[0]}:{self.device[1]}); stack: {_stack_text(self.stack)}.",
            f"1. Write a {mib:g} MiB test file {self.file_path} (a recognisable pattern per 4 KiB block) "
            "and fsync it.",
            f"2. Map it to {self.device_path} with FIEMAP and read those ranges back, read-only, "
            "with O_DIRECT: the pattern must be there.",
            f"3. Delete the file, sync, run `fstrim --offset … --length … {self.mount_point}` over the "
            "range it used.",
            "4. Read the same ranges again and classify them: zeros, 0xFF, unchanged or other data.",
            f"The raw device is only read; the only write is the test file, which is always removed. "
            f"Discard granularity {self.discard_granularity} bytes, DISC-MAX {self.discard_max_bytes}.",
        ]


@dataclass(frozen=True)
class Piece:
    """``length`` bytes of the file at ``logical`` are at byte ``physical`` of the device."""

    logical: int
    physical: int
    length: int


@dataclass(frozen=True)
class TrimTestOutcome:
    verdict: Verdict
    message: str
    advice: str = ""
    mount_point: str = ""
    plan: TrimTestPlan | None = None
    rzat: bool | None = None
    #: What the ranges held after fstrim: "zeros", "0xff", "unchanged", "other" (None: not read).
    reading: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    fstrim: CommandResult | None = None
    blocked_at: Layer | None = None
    pieces: tuple[Piece, ...] = ()
    #: Seconds per phase, and "total".
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def verified(self) -> bool | None:
        return self.verdict.verified

    def evidence(self) -> tuple[Evidence, ...]:
        lines = []
        if self.plan is not None:
            lines.append(Evidence("ssdwizard --trim-test", f"{self.plan.fstype} on {self.plan.device_path}, "
                                  f"{self.plan.file_size} bytes in {len(self.pieces)} extent(s): "
                                  + ", ".join(f"{p.physical}+{p.length}" for p in self.pieces[:8])
                                  + (" …" if len(self.pieces) > 8 else "")))
        if self.counts:
            lines.append(Evidence(f"read-back of {self.plan.device_path if self.plan else 'the device'} "
                                  "after fstrim (bytes)",
                                  ", ".join(f"{k} {v}" for k, v in self.counts.items())))
        if self.fstrim is not None:
            text = (self.fstrim.stdout.strip() or self.fstrim.stderr.strip())[:300]
            lines.append(Evidence(self.fstrim.command_line, f"{text} (exit {self.fstrim.exit_code})"))
        if self.blocked_at is not None:
            lines.append(Evidence(f"/sys/class/block/{self.blocked_at.kname}/queue/discard_max_bytes",
                                  str(self.blocked_at.discard_max_bytes)))
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mount_point": self.mount_point, "verdict": self.verdict.value, "verified": self.verified,
            "message": self.message, "advice": self.advice, "rzat": self.rzat, "reading": self.reading,
            "counts": self.counts, "device": self.plan.device_path if self.plan else None,
            "blocked_at": self.blocked_at.kname if self.blocked_at else None,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


class _Cancelled(Exception):
    pass


# ---- the plan: reads only --------------------------------------------------------------------

def _read_int(system: System, path: str) -> int | None:
    text = system.read_text(path)
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def _mount_of(system: System, path: str) -> tuple[str, str | None]:
    """The mount point a path lives on, and its fstype (longest mount-point prefix)."""
    text = system.read_text(MOUNTINFO) or ""
    try:
        table = mountinfo_parser.parse(text)
    except ParseError:
        return "/", None
    best: tuple[str, str | None] = ("/", None)
    for mount in table.mounts:
        point = mount.mount_point.rstrip("/") or "/"
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best[0]):
            best = (point, mount.fstype)
    return best


def block_stack(system: System, sysdir: str) -> tuple[tuple[Layer, ...], ...]:
    """Every path from the device at ``sysdir`` down to a disk (top first), with a loop
    device's backing file and the filesystem it is on named (a loop passes discards as hole
    punches, which that filesystem must support)."""
    def noted(layer: Layer) -> Layer:
        if layer.backing_file is None:
            return layer
        _, fstype = _mount_of(system, layer.backing_file)
        return replace(layer, detail=f"backing file {layer.backing_file} on {fstype or 'an unknown filesystem'}")

    return tuple(tuple(noted(layer) for layer in path) for path in walk_up(system, sysdir))


def first_blocking_layer(stack: tuple[tuple[Layer, ...], ...]) -> Layer | None:
    """Walking up from each disk, the first layer whose discard_max_bytes is 0: the kernel stacks
    discard limits, so every layer above a blocking one shows 0 too, and the lowest is the one
    to fix. A partition shares its disk's limit and is skipped."""
    for path in stack:
        for layer in reversed(path):
            if layer.kind != "part" and layer.discard_max_bytes == 0:
                return layer
    return None


def _stack_text(stack: tuple[tuple[Layer, ...], ...]) -> str:
    return "; ".join(" → ".join(layer.kname for layer in path) for path in stack) or "unknown"


def plan_trim_test(system: System, mount_point: str) -> TrimTestPlan:
    """Decide everything the test needs, reading only; :class:`TrimTestRefused` says why not."""
    io = BlockIO.on(system)
    if io is None:
        raise TrimTestRefused("the TRIM test reads a real block device: it runs on this machine, not on a "
                              "recorded profile")
    text = system.read_text(MOUNTINFO)
    if text is None:
        raise TrimTestRefused(f"{MOUNTINFO} is not readable: the mounts are unknown")
    try:
        table = mountinfo_parser.parse(text)
    except ParseError as exc:
        raise TrimTestRefused(f"{MOUNTINFO} is not in the kernel's format ({exc.message})") from None
    wanted = mount_point.rstrip("/") or "/"
    mount = table.visible(wanted)
    if mount is None:
        holder, _ = _mount_of(system, system.realpath(wanted))
        raise TrimTestRefused(f"{mount_point} is not a mount point (it is on the filesystem mounted at {holder}); "
                              "give the mount point of the filesystem to test")
    if mount.fstype == "btrfs":
        raise TrimTestRefused("btrfs is refused: its FIEMAP addresses are logical addresses in btrfs's own chunk "
                              "space (which may map to several devices, RAID1 or DUP), not offsets on a block "
                              "device, so the test cannot read its file back from the raw device. btrfs trims "
                              "with discard=async by default since kernel 6.2")
    if mount.fstype not in SUPPORTED_FS:
        raise TrimTestRefused(f"{mount.fstype} is not supported: the test reads its file back from the raw device "
                              "by FIEMAP addresses, which it trusts only on ext4 (ext2/ext3) and xfs")
    sysdir = system.realpath(f"/sys/dev/block/{mount.device}")
    if not system.exists(f"{sysdir}/dev"):
        raise TrimTestRefused(f"{mount.mount_point} ({mount.source}) has no block device behind it "
                              f"(device {mount.device})")
    uevent = system.read_text(f"{sysdir}/uevent") or ""
    devname = next((line.split("=", 1)[1] for line in uevent.splitlines() if line.startswith("DEVNAME=")),
                   PurePosixPath(sysdir).name)
    device_path = f"/dev/{devname}"
    if not system.exists(device_path):
        raise TrimTestRefused(f"{device_path} (device {mount.device}) does not exist in /dev")
    queue = queue_dir(system, sysdir)
    granularity = _read_int(system, f"{queue}/discard_granularity") or 0
    file_size = max(MIN_FILE_BYTES, 4 * granularity)
    file_size = -(-file_size // UNIT) * UNIT
    try:
        vfs = io.statvfs(mount.mount_point)
    except OSError as exc:
        raise TrimTestRefused(f"{mount.mount_point}: {exc.strerror or exc}") from None
    if vfs.f_flag & os.ST_RDONLY:
        raise TrimTestRefused(f"{mount.mount_point} is mounted read-only: the test needs to write its file")
    free = vfs.f_bavail * vfs.f_frsize
    if free < 2 * file_size:
        raise TrimTestRefused(f"{mount.mount_point} has {free} bytes free; the test file needs {file_size} and "
                              "leaves at least as much free")
    nonce = secrets.token_hex(8)
    major, minor = (int(x) for x in mount.device.split(":"))
    return TrimTestPlan(
        mount_point=mount.mount_point, fstype=mount.fstype, source=mount.source, device=(major, minor),
        device_path=device_path, stack=block_stack(system, sysdir), discard_granularity=granularity,
        discard_max_bytes=_read_int(system, f"{queue}/discard_max_bytes"), file_size=file_size,
        file_path=str(PurePosixPath(mount.mount_point) / f"{FILE_PREFIX}{nonce}"), nonce=nonce)


# ---- the pattern -------------------------------------------------------------------------------

class Pattern:
    """Each 4 KiB unit is one 64-byte line naming the run and the unit, repeated 64 times: unique
    per unit and per run (a stale copy from an earlier run does not match), readable in a hex
    dump, and never all zeros or all ones."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce

    def unit(self, index: int) -> bytes:
        line = f"ssdwizard trim test {self.nonce} block {index:012d}".encode().ljust(63) + b"\n"
        return line * (UNIT // 64)

    def bytes_at(self, offset: int, length: int) -> bytes:
        first, last = offset // UNIT, (offset + length - 1) // UNIT
        data = b"".join(self.unit(i) for i in range(first, last + 1))
        start = offset - first * UNIT
        return data[start:start + length]


_ZEROS = bytes(1024 * 1024)
_ONES = b"\xff" * (1024 * 1024)


def classify(data: bytes, expected: bytes, offset: int, counts: dict[str, int]) -> None:
    """Add ``data``'s bytes to ``counts`` by what each 4 KiB unit (aligned to file offsets,
    starting at file offset ``offset``) holds: zeros, 0xff, unchanged (the pattern) or other."""
    n = len(data)
    if data == expected:
        counts["unchanged"] += n
        return
    if data == _ZEROS[:n]:
        counts["zeros"] += n
        return
    position = 0
    while position < n:
        step = min(n - position, UNIT - (offset + position) % UNIT)
        piece = data[position:position + step]
        if piece == expected[position:position + step]:
            counts["unchanged"] += step
        elif piece == _ZEROS[:step]:
            counts["zeros"] += step
        elif piece == _ONES[:step]:
            counts["0xff"] += step
        else:
            counts["other"] += step
        position += step


def reading_of(counts: dict[str, int]) -> str:
    """One word for a read-back: a class that every trimmed byte shares; bytes still holding the
    pattern beside zeros are partial granules at the edges, and do not change the word."""
    total = sum(counts.values())
    if counts["unchanged"] == total:
        return "unchanged"
    for word in ("zeros", "0xff"):
        if counts[word] and counts[word] + counts["unchanged"] == total:
            return word
    return "other"


# ---- the run -------------------------------------------------------------------------------------

def pieces_from_extents(extents: list[Extent], size: int) -> tuple[Piece, ...]:
    """The file's bytes as device ranges; :class:`TrimTestRefused` for an extent whose bytes are
    not plainly at its address, or a file the extents do not cover."""
    pieces = []
    covered = 0
    for extent in extents:
        bad = [words for bit, words in _BAD_EXTENT_FLAGS.items() if extent.flags & bit]
        if bad:
            raise TrimTestRefused(f"the test file has an extent that is {', '.join(bad)} (FIEMAP flags "
                                  f"{extent.flags:#x}): its bytes are not plainly on the device")
        if extent.logical >= size:
            continue
        length = min(extent.length, size - extent.logical)
        pieces.append(Piece(extent.logical, extent.physical, length))
        covered += length
    if covered != size:
        raise TrimTestRefused(f"FIEMAP maps {covered} of the file's {size} bytes: the file has holes")
    return tuple(sorted(pieces, key=lambda p: p.logical))


def _fstrim_range(pieces: tuple[Piece, ...], granularity: int) -> tuple[int, int]:
    """The byte range of the filesystem that held the file, rounded out to whole discard
    granules, so that the granules the file filled are trimmed whole."""
    grain = max(granularity, 1)
    start = min(p.physical for p in pieces) // grain * grain
    end = -(-max(p.physical + p.length for p in pieces) // grain) * grain
    return start, end - start


class _Progress:
    def __init__(self, on_progress: ProgressCallback | None, cancel: threading.Event | None) -> None:
        self.on_progress = on_progress
        self.cancel = cancel
        self.base = 0.0
        self.weight = 0.0
        self.phase = ""
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def enter(self, phase: str) -> None:
        now = time.perf_counter()
        if self.phase:
            self.timings[self.phase] = now - self.started
        self.started = now
        if self.cancel is not None and self.cancel.is_set():
            raise _Cancelled()
        self.base = sum(w for name, w in PHASES[:[n for n, _ in PHASES].index(phase)])
        self.weight = dict(PHASES)[phase]
        self.phase = phase
        self.report(0.0)

    def report(self, within: float) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Cancelled()
        if self.on_progress is not None:
            self.on_progress(self.phase, min(1.0, self.base + self.weight * within))

    def finish(self) -> None:
        if self.phase:
            self.timings[self.phase] = time.perf_counter() - self.started
            self.phase = ""


def _read_pieces(io: BlockIO, plan: TrimTestPlan, pieces: tuple[Piece, ...], pattern: Pattern,
                 progress: _Progress, check_pattern: bool) -> dict[str, int] | str:
    """Read every piece from the device. Before the trim (``check_pattern``): the mismatch
    message, or an empty dict when all is as written. After: the counts per class."""
    counts = {"zeros": 0, "0xff": 0, "unchanged": 0, "other": 0}
    total = sum(p.length for p in pieces)
    done = 0
    chunk = 1024 * 1024
    with io.open_readonly(plan.device_path, plan.device) as device:
        for piece in pieces:
            for at in range(0, piece.length, chunk):
                length = min(chunk, piece.length - at)
                data = device.read(piece.physical + at, length)
                expected = pattern.bytes_at(piece.logical + at, length)
                if check_pattern:
                    if data != expected:
                        return (f"mapping mismatch: the file's bytes {piece.logical + at}-{piece.logical + at + length} "
                                f"are not at byte {piece.physical + at} of {plan.device_path}")
                else:
                    classify(data, expected, piece.logical + at, counts)
                done += length
                progress.report(done / total)
    return {} if check_pattern else counts


FREE_WAIT_S = 10.0


def _free_bytes(io: BlockIO, mount_point: str) -> int:
    vfs = io.statvfs(mount_point)
    return vfs.f_bfree * vfs.f_frsize


def _wait_until_freed(io: BlockIO, plan: TrimTestPlan, free_with_file: int, progress: _Progress) -> None:
    """Sync until the filesystem counts the file's blocks as free again. A deleted file's blocks
    are not free at once: ext4 frees them when the journal commits, xfs (5.19+) inactivates
    unlinked inodes in a background worker, and fstrim skips blocks that are not free yet, which
    would read back as "unchanged". Gives up after FREE_WAIT_S (the read-back then tells)."""
    deadline = time.monotonic() + FREE_WAIT_S
    wanted = free_with_file + plan.file_size * 9 // 10
    while True:
        io.sync()
        if _free_bytes(io, plan.mount_point) >= wanted or time.monotonic() >= deadline:
            return
        progress.report(1 - (deadline - time.monotonic()) / FREE_WAIT_S)
        time.sleep(0.02)


def run_trim_test(system: System, plan: TrimTestPlan, rzat: bool | None = None,
                  on_progress: ProgressCallback | None = None,
                  cancel: threading.Event | None = None) -> TrimTestOutcome:
    """Run a planned test. ``on_progress(phase, fraction of the whole test)`` is called from
    this thread between and within the phases; setting ``cancel`` stops at the next check (the
    file is removed). ``rzat``: whether the disk promises zeros after TRIM (the trim step's
    fact), which decides what an unchanged read means."""
    io = BlockIO.on(system)
    if io is None:
        return TrimTestOutcome(Verdict.REFUSED, "the TRIM test runs on this machine only", mount_point=plan.mount_point)
    progress = _Progress(on_progress, cancel)
    pattern = Pattern(plan.nonce)
    began = time.perf_counter()
    created = False
    outcome = partial(TrimTestOutcome, mount_point=plan.mount_point, plan=plan, rzat=rzat)
    try:
        progress.enter("plan")
        progress.enter("write")
        created = True  # O_EXCL: if the name existed, write_file raises before touching it
        try:
            io.write_file(plan.file_path, plan.file_size, pattern.bytes_at,
                          lambda n: progress.report(n / plan.file_size), expect_device=plan.device)
        except FileExistsError:
            created = False  # not ours: never remove it
            raise
        progress.enter("map")
        pieces = pieces_from_extents(io.fiemap(plan.file_path), plan.file_size)
        progress.enter("read-before")
        mismatch = _read_pieces(io, plan, pieces, pattern, progress, check_pattern=True)
        if mismatch:
            return outcome(Verdict.COULD_NOT_RUN, str(mismatch),
                           "The filesystem's addresses do not match the device read: please report this "
                           "with `ssdwizard --record DIR`.", pieces=pieces)
        free_with_file = _free_bytes(io, plan.mount_point)
        progress.enter("delete")
        io.unlink(plan.file_path)
        created = False
        progress.enter("sync")
        _wait_until_freed(io, plan, free_with_file, progress)
        progress.enter("fstrim")
        offset, length = _fstrim_range(pieces, plan.discard_granularity)
        fstrim = io.fstrim(plan.mount_point, offset, length)
        progress.enter("read-after")
        counts = _read_pieces(io, plan, pieces, pattern, progress, check_pattern=False)
        assert isinstance(counts, dict)
        progress.finish()
    except TrimTestRefused as exc:
        return outcome(Verdict.REFUSED, str(exc))
    except _Cancelled:
        return outcome(Verdict.COULD_NOT_RUN, "cancelled; the test file was removed")
    except OSError as exc:
        return outcome(Verdict.COULD_NOT_RUN, f"{progress.phase or 'the test'} failed: "
                       f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""),
                       "Run as root; the mount point must be writable and the device readable.")
    finally:
        if created:
            io.unlink(plan.file_path)
    timings = dict(progress.timings, total=time.perf_counter() - began)
    return judge(plan, rzat, pieces, fstrim, counts, timings)


def judge(plan: TrimTestPlan, rzat: bool | None, pieces: tuple[Piece, ...], fstrim: CommandResult,
          counts: dict[str, int], timings: dict[str, float]) -> TrimTestOutcome:
    """The verdict and what it means, from what the read-back found."""
    reading = reading_of(counts)
    outcome = partial(TrimTestOutcome, mount_point=plan.mount_point, plan=plan, rzat=rzat, reading=reading,
                      counts=counts, fstrim=fstrim, pieces=pieces, timings=timings)
    total = sum(counts.values())
    promise = {True: "the disk reports RZAT (zeros after TRIM)", False: "the disk does not report RZAT",
               None: "whether the disk reports RZAT is unknown"}[rzat]
    where = f"{total} bytes on {plan.device_path}"
    if reading == "zeros":
        edge = (f" ({counts['unchanged']} bytes at the edges still held the pattern: partial discard granules)"
                if counts["unchanged"] else "")
        return outcome(Verdict.WORKS, f"TRIM works: the {where} that held the test file read back as "
                       f"zeros after fstrim{edge}; {promise}.")
    if reading == "0xff":
        if rzat:
            return outcome(Verdict.FAILED, f"The {where} read back as 0xFF after fstrim, but {promise}: "
                           "the disk does not keep its promise.",
                           "Do not rely on zeros after TRIM on this disk (md RAID5/6 with "
                           "devices_handle_discard_safely, some database tools do); check for a firmware "
                           "update.")
        return outcome(Verdict.WORKS, f"TRIM works: the {where} read back as 0xFF after fstrim (the disk "
                       f"returns ones for deallocated blocks); {promise}.")
    if reading == "unchanged":
        blocked = first_blocking_layer(plan.stack)
        if blocked is not None:
            return outcome(Verdict.DID_NOT_REACH, f"TRIM did not reach the disk: the {where} still hold the "
                           f"test pattern after fstrim, and discard stops at the {blocked.text} "
                           f"(queue/discard_max_bytes 0; stack {_stack_text(plan.stack)}).",
                           _layer_advice(blocked), blocked_at=blocked)
        if not fstrim.ok:
            return outcome(Verdict.DID_NOT_REACH, f"TRIM did not reach the disk: fstrim failed (exit "
                           f"{fstrim.exit_code}: {fstrim.stderr.strip()[:200]}) and the {where} still hold "
                           "the test pattern.", "Run the fstrim command by hand to see why.")
        if rzat:
            return outcome(Verdict.DID_NOT_REACH, f"TRIM did not reach the disk: {promise}, yet the {where} "
                           "still hold the test pattern after fstrim.",
                           "Every layer passes discards, so the disk or its controller drops them: check "
                           "the controller's pass-through mode and the disk's firmware.")
        return outcome(Verdict.INCONCLUSIVE, f"Inconclusive: the {where} still hold the test pattern after "
                       f"fstrim, but {promise}, and such a disk may go on returning old data after a TRIM.",
                       "This is not a failure. TRIM's effect on this disk cannot be seen from outside; the "
                       "capability checks of the trim step are what count.")
    crypt = any(layer.kind == "crypt" for path in plan.stack for layer in path)
    why = ("the device is dm-crypt: sectors the disk zeroed decrypt into noise, so this is expected when TRIM works"
           if crypt else "the filesystem may have reused the freed blocks at once (a busy filesystem), or the disk "
           "returns neither zeros nor the old data")
    return outcome(Verdict.INCONCLUSIVE, f"Inconclusive: the {where} hold other data after fstrim "
                   f"(zeros {counts['zeros']}, 0xFF {counts['0xff']}, unchanged {counts['unchanged']}, other "
                   f"{counts['other']} bytes): {why}.", "Run the test again on a quiet filesystem.")


def _layer_advice(layer: Layer) -> str:
    if layer.kind == "loop":
        return ("The loop driver passes discards to its backing file as hole punches: the backing file's "
                "filesystem cannot punch holes (ramfs, some network filesystems), or discard was turned off in "
                f"/sys/block/{layer.kname}/queue/discard_max_bytes.")
    if layer.kind == "crypt":
        return ("Open it with discards allowed: `discard` in /etc/crypttab, or `cryptsetup refresh --allow-discards "
                f"--persistent {layer.label}` (LUKS2).")
    if layer.kind == "lvm":
        return "Check the thin pool's discard mode: `lvchange --discards passdown VG/POOL`."
    if layer.kind.startswith("raid") or layer.kind == "md":
        return ("md RAID4/5/6 pass discards only with raid456's devices_handle_discard_safely=Y, which is safe only "
                "when every member reads zeros after TRIM (RZAT).")
    if layer.kind == "disk":
        return ("The kernel sends this disk no discards: a controller, USB bridge or libata quirk in between does "
                "not pass TRIM (see the trim step).")
    return "This layer does not pass discards to the layer below; check how it was set up."


def trim_test(system: System, mount_point: str, rzat: bool | None = None,
              on_progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> TrimTestOutcome:
    """Plan and run in one call; a refusal is an outcome too (for the wizard's button)."""
    try:
        plan = plan_trim_test(system, mount_point)
    except TrimTestRefused as exc:
        return TrimTestOutcome(Verdict.REFUSED, str(exc), mount_point=mount_point)
    return run_trim_test(system, plan, rzat, on_progress, cancel)


# ---- into the trim step's result -----------------------------------------------------------------

def rzat_of(result: StepResult, disks: tuple[str, ...]) -> bool | None:
    """Whether every disk under the filesystem promises zeros after TRIM, from the trim step's
    facts: True only if all say so, False if one says no, else unknown."""
    values = [d.get("rzat") for d in result.facts.get("disks", []) if d.get("name") in disks]
    if not values or any(v is None for v in values):
        return False if any(v is False for v in values) else None
    return all(values)


_FINDING_STATUS = {Verdict.WORKS: Status.OK, Verdict.INCONCLUSIVE: Status.OK, Verdict.DID_NOT_REACH: Status.WARN,
                   Verdict.FAILED: Status.FAIL, Verdict.REFUSED: Status.SKIP, Verdict.COULD_NOT_RUN: Status.SKIP}


def with_trim_test(result: StepResult, outcome: TrimTestOutcome) -> StepResult:
    """The trim step's result with the test in it: ``facts.verified`` set, the verdict as a
    finding with its evidence, the summary and status updated. Pure: the wizard and the
    headless command both call it after a run."""
    finding = Finding(_FINDING_STATUS[outcome.verdict], f"TRIM test {outcome.mount_point}", outcome.message,
                      outcome.advice, outcome.evidence())
    findings = (*result.findings, finding)
    status = Status.worst([f.status for f in findings]) if result.status is not Status.ERROR else Status.ERROR
    summary = f"{result.summary.rstrip('.')}; TRIM test on {outcome.mount_point}: {outcome.verdict.value}"
    return replace(result, status=status, summary=summary, findings=findings,
                   facts={**result.facts, "verified": outcome.verified})
