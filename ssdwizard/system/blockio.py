"""Raw block I/O for the opt-in active tests (the TRIM read-back test, the IOPS measurement).
The raw device is only ever opened O_RDONLY; the only thing written is the TRIM test's own
file on a mounted filesystem, which its caller removes again."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ssdwizard.system.base import CommandResult, System


FS_IOC_FIEMAP = 0xC020660B  # linux/fs.h, _IOWR('f', 11, struct fiemap)
FIEMAP_FLAG_SYNC = 0x00000001
FIEMAP_EXTENT_LAST = 0x00000001
_FIEMAP_HEADER = "=QQIIII"  # fm_start, fm_length, fm_flags, fm_mapped_extents, fm_extent_count, fm_reserved
_FIEMAP_EXTENT = "=QQQQQIIII"  # fe_logical, fe_physical, fe_length, 2 reserved, fe_flags, 3 reserved
_FIEMAP_BATCH = 256
BLKSSZGET = 0x1268  # linux/fs.h, _IO(0x12, 104): logical sector size
BLKGETSIZE64 = 0x80081272  # _IOR(0x12, 114, size_t): size in bytes
RAW_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Extent:
    """One FIEMAP extent: ``length`` bytes of the file at ``logical`` live at ``physical`` on the
    filesystem's block device; ``flags`` are the kernel's FIEMAP_EXTENT_* bits."""

    logical: int
    physical: int
    length: int
    flags: int


@dataclass(frozen=True)
class ReadRun:
    """What a random-read run did: every I/O's latency, and how long the run took."""

    latencies_ns: tuple[int, ...]
    bytes_read: int
    elapsed_s: float
    depth: int


class RawDevice:
    """A block device opened ``O_RDONLY | O_DIRECT``: reads bypass the page cache and go to the
    device. Reads must be aligned to the logical block size, in offset, length and buffer
    address; the buffer is an anonymous mmap, which is page-aligned."""

    def __init__(self, fd: int, path: str) -> None:
        import fcntl
        import mmap
        import struct

        self.fd = fd
        self.path = path
        self.logical_block_size = struct.unpack("i", fcntl.ioctl(fd, BLKSSZGET, struct.pack("i", 0)))[0]
        self.size = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, struct.pack("Q", 0)))[0]
        self._buffer = mmap.mmap(-1, RAW_CHUNK_BYTES)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; an unaligned range is widened to whole blocks and cut."""
        block = self.logical_block_size
        start = offset - offset % block
        end = -(-(offset + length) // block) * block
        out = bytearray()
        view = memoryview(self._buffer)
        try:
            position = start
            while position < end:
                size = min(RAW_CHUNK_BYTES, end - position)
                done = os.preadv(self.fd, [view[:size]], position)
                if done <= 0:
                    raise OSError(5, f"{self.path}: short read at byte {position}")
                out += view[:done]
                position += done
        finally:
            view.release()
        return bytes(out[offset - start: offset - start + length])

    def close(self) -> None:
        self._buffer.close()
        os.close(self.fd)

    def __enter__(self) -> RawDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlockIO:
    """The active tests' side of the door: a pattern file on a mounted filesystem, FIEMAP,
    read-only ``O_DIRECT`` reads of a block device, ``fstrim`` and random reads. Only on this
    machine: a recorded profile has no block devices to read (:meth:`on` returns None)."""

    def __init__(self, system: System) -> None:
        self.system = system

    @classmethod
    def on(cls, system: System) -> BlockIO | None:
        from ssdwizard.system.live import LiveSystem
        from ssdwizard.system.recording import RecordingSystem

        live = system.live if isinstance(system, RecordingSystem) else system
        return cls(system) if isinstance(live, LiveSystem) else None

    # -- the filesystem side ---------------------------------------------------------------------

    def statvfs(self, path: str) -> os.statvfs_result:
        return os.statvfs(path)

    def write_file(self, path: str, size: int, content: Callable[[int, int], bytes],
                   on_written: Callable[[int], None] | None = None,
                   expect_device: tuple[int, int] | None = None) -> None:
        """Create ``path`` (never an existing file, never through a link), fill it with
        ``content(offset, length)`` in 1 MiB pieces, fsync it. ``expect_device`` refuses a file
        that landed on another filesystem than the one under test."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if expect_device is not None:
                st = os.fstat(fd)
                if (os.major(st.st_dev), os.minor(st.st_dev)) != expect_device:
                    raise OSError(18, f"{path} is not on the device {expect_device[0]}:{expect_device[1]}")
            written = 0
            while written < size:
                piece = content(written, min(RAW_CHUNK_BYTES, size - written))
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view):]
                written += len(piece)
                if on_written:
                    on_written(written)
            os.fsync(fd)
        finally:
            os.close(fd)

    def fiemap(self, path: str) -> list[Extent]:
        """The file's extents from the FIEMAP ioctl with FIEMAP_FLAG_SYNC (dirty data is written
        and allocated first, so no extent is still delayed)."""
        import fcntl
        import struct

        header_size = struct.calcsize(_FIEMAP_HEADER)
        extent_size = struct.calcsize(_FIEMAP_EXTENT)
        extents: list[Extent] = []
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            start = 0
            while True:
                request = bytearray(struct.pack(_FIEMAP_HEADER, start, 2**64 - 1 - start, FIEMAP_FLAG_SYNC, 0,
                                                _FIEMAP_BATCH, 0))
                request += bytes(extent_size * _FIEMAP_BATCH)
                fcntl.ioctl(fd, FS_IOC_FIEMAP, request)
                mapped = struct.unpack_from(_FIEMAP_HEADER, request)[3]
                if mapped == 0:
                    return extents
                for index in range(mapped):
                    fields = struct.unpack_from(_FIEMAP_EXTENT, request, header_size + index * extent_size)
                    extents.append(Extent(fields[0], fields[1], fields[2], fields[5]))
                last = extents[-1]
                if last.flags & FIEMAP_EXTENT_LAST:
                    return extents
                start = last.logical + last.length
        finally:
            os.close(fd)

    def unlink(self, path: str) -> bool:
        """Remove a file; False when it was not there."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def sync(self) -> None:
        """Flush every filesystem: the deleted file's blocks are free only once the journal
        transaction that freed them has committed."""
        os.sync()

    def fstrim(self, mount_point: str, offset: int | None = None, length: int | None = None,
               timeout: float = 600.0) -> CommandResult:
        argv = ["fstrim", "--verbose"]
        if offset is not None and length is not None:
            argv += ["--offset", str(offset), "--length", str(length)]
        return self.system.run([*argv, mount_point], timeout)

    # -- the raw device side (read-only) ---------------------------------------------------------

    def open_readonly(self, path: str, expect_device: tuple[int, int] | None = None) -> RawDevice:
        """The block device at ``path``, ``O_RDONLY | O_DIRECT``; refuses anything but a block
        device, and one with another device number than ``expect_device``."""
        import stat as stat_module

        fd = os.open(path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat_module.S_ISBLK(st.st_mode):
                raise OSError(15, f"{path} is not a block device")
            if expect_device is not None and (os.major(st.st_rdev), os.minor(st.st_rdev)) != expect_device:
                raise OSError(19, f"{path} is device {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}, "
                                  f"not {expect_device[0]}:{expect_device[1]}")
            return RawDevice(fd, path)
        except BaseException:
            os.close(fd)
            raise

    def random_reads(self, path: str, block_size: int, depth: int, seconds: float,
                     cancel: threading.Event | None = None, seed: int | None = None,
                     on_tick: Callable[[float], None] | None = None) -> ReadRun:
        """Random ``block_size`` reads over the whole device for ``seconds``, ``depth`` at once
        (one thread per outstanding read: ``preadv`` releases the GIL while it waits), each
        timed. Read-only (``O_RDONLY | O_DIRECT``), like fio's ``--readonly --direct=1``.
        ``on_tick(fraction of the time done)`` is called from the calling thread, about every 0.1 s."""
        import mmap
        import random

        device = self.open_readonly(path)
        blocks = device.size // block_size
        if blocks < 1:
            device.close()
            raise OSError(22, f"{path} is smaller than one {block_size}-byte block")
        stop = threading.Event()
        results: list[list[int]] = [[] for _ in range(depth)]
        errors: list[BaseException] = []
        check_every_ns = 50_000_000
        began_ns = time.perf_counter_ns()
        deadline_ns = began_ns + int(seconds * 1e9)

        def worker(index: int, inline: bool) -> None:
            # Depth 1 runs on the calling thread: a helper thread would add a GIL hand-off to
            # every read (measured: ~8 % fewer IOPS than fio; inline is within ~3 %).
            buffer = mmap.mmap(-1, block_size)
            view = memoryview(buffer)
            chooser = random.Random(None if seed is None else seed + index)
            latencies = results[index]
            clock = time.perf_counter_ns
            next_check = clock() + check_every_ns
            try:
                while True:
                    offset = chooser.randrange(blocks) * block_size
                    before = clock()
                    os.preadv(device.fd, [view], offset)
                    after = clock()
                    latencies.append(after - before)
                    if after >= next_check:
                        if stop.is_set() or after >= deadline_ns or (cancel is not None and cancel.is_set()):
                            break
                        if inline and on_tick is not None:
                            on_tick(min(1.0, (after - began_ns) / (deadline_ns - began_ns)))
                        next_check = after + check_every_ns
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                errors.append(exc)
                stop.set()
            finally:
                view.release()
                buffer.close()

        threads = [] if depth == 1 else [
            threading.Thread(target=worker, args=(i, False), name=f"ssdwizard-read-{i}", daemon=True)
            for i in range(depth)]
        began = time.perf_counter()
        try:
            if depth == 1:
                worker(0, True)
            for thread in threads:
                thread.start()
            while threads and not stop.is_set() and time.perf_counter_ns() < deadline_ns:
                if cancel is not None and cancel.is_set():
                    break
                if on_tick is not None:
                    on_tick(min(1.0, (time.perf_counter() - began) / seconds))
                stop.wait(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            device.close()
        if errors:
            raise errors[0]
        latencies = tuple(ns for per_thread in results for ns in per_thread)
        return ReadRun(latencies, len(latencies) * block_size, elapsed, depth)
