"""Kill points for the crash-consistency harness (issue 10; tests/apply/test_killpoints.py).

Python imports ``sitecustomize`` at start-up from the first folder on ``sys.path`` that has
one, so a CLI run with this folder first on PYTHONPATH gets these wrappers and no other run
does: the product code has no test hooks. With neither variable below set, nothing is wrapped.

``SSDWIZARD_KILL_LOG=FILE``  append one line per step that changes the filesystem:
                             ``index<TAB>label<TAB>arguments<TAB>caller``.
``SSDWIZARD_KILL_AT=N``      SIGKILL the process at step N, before the step is made.
``SSDWIZARD_KILL_MODE=mid``  at step N, when it is a write, write the first half of the bytes
                             (and flush them to the kernel) and then SIGKILL: the state a
                             crash leaves in a truncate-then-write.

A step is an ``os`` call that changes something (``os.open`` with a write or create flag,
``os.write``, ``fsync``, ``replace``/``rename``, ``unlink``, ``mkdir``, ``chmod``, ...) or a
write to a file object that ``open()``/``Path.open()``/``os.fdopen()`` returned for writing,
since the builtin ``open()`` never goes through ``os.open``. The wrappers call the saved
originals, so their own log lines are not steps; nor is what a forked child does before its
exec (the ``sh`` library writes to a pipe there): only the process that started counts.
"""

from __future__ import annotations

import builtins
import io
import os
import signal
import sys
import threading

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_FLAG_NAMES = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_NOFOLLOW", "O_DIRECTORY")
_PACKAGE_MARK = f"{os.sep}ssdwizard{os.sep}"


class _Counter:
    """The step number and the log; every wrapper asks it before doing its step."""

    def __init__(self, kill_at: int | None, log: str | None, mid: bool) -> None:
        self.kill_at = kill_at
        self.mid = mid
        self.count = 0
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.log_fd = _ORIGINAL["open"](log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644) \
            if log else None

    def step(self, label: str, detail: str, half=None) -> None:
        """Count one step; at the chosen one die, before it or (mid) half-way through a write."""
        if os.getpid() != self.pid:
            return  # a forked child before its exec (the sh library's): not a step of this run
        with self.lock:
            self.count += 1
            index = self.count
            if self.log_fd is not None:
                line = f"{index}\t{label}\t{detail}\t{_caller()}\n"
                _ORIGINAL["write"](self.log_fd, line.encode("utf-8", "backslashreplace"))
        if index == self.kill_at:
            if self.mid and half is not None:
                half()
            _ORIGINAL["kill"](os.getpid(), signal.SIGKILL)


def _caller() -> str:
    """Where in ssdwizard the step comes from: the innermost three package frames, e.g.
    ``system.py:Writer.write_new:734 < journal.py:JournalEntry.save < engine.py:_apply_locked``."""
    frames = []
    frame = sys._getframe(2)
    while frame is not None and len(frames) < 3:
        code = frame.f_code
        if _PACKAGE_MARK in code.co_filename:
            name = f"{os.path.basename(code.co_filename)}:{getattr(code, 'co_qualname', code.co_name)}"
            frames.append(f"{name}:{frame.f_lineno}" if not frames else name)
        frame = frame.f_back
    return " < ".join(frames) or "-"


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"fd{fd}"


def _path(value) -> str:
    if isinstance(value, int):
        return _fd_path(value)
    try:
        return os.fsdecode(os.fspath(value))
    except TypeError:
        return repr(value)


def _flags(flags: int) -> str:
    names = [name for name in _FLAG_NAMES if flags & getattr(os, name, 0)]
    return "|".join(names) or "O_RDONLY"


class _WrittenFile:
    """A file object opened for writing, whose ``write``/``truncate`` are steps."""

    def __init__(self, handle, where: str) -> None:
        self._handle = handle
        self._where = where

    def write(self, data):
        def half():
            self._handle.write(data[: len(data) // 2])
            self._handle.flush()

        _COUNTER.step("file.write", f"{self._where} {len(data)}", half)
        return self._handle.write(data)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def truncate(self, size=None):
        _COUNTER.step("file.truncate", f"{self._where} {size}")
        return self._handle.truncate(size)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        self._handle.__enter__()
        return self

    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)

    def __iter__(self):
        return iter(self._handle)


def _wrap_open(file, mode="r", *args, **kwargs):
    writing = any(c in mode for c in "wax+")
    if writing and not isinstance(file, int):  # os.fdopen(fd): the fd's os.open was the step
        _COUNTER.step("open", f"{_path(file)} {mode}")
    handle = _ORIGINAL["io.open"](file, mode, *args, **kwargs)
    return _WrittenFile(handle, _path(file)) if writing else handle


def _wrap_os_open(path, flags, mode=0o777, *, dir_fd=None):
    if flags & _WRITE_FLAGS:
        _COUNTER.step("os.open", f"{_path(path)} {_flags(flags)}")
    return _ORIGINAL["open"](path, flags, mode, dir_fd=dir_fd)


def _wrap_os_write(fd, data):
    def half():
        _ORIGINAL["write"](fd, bytes(data)[: len(data) // 2])

    _COUNTER.step("os.write", f"{_fd_path(fd)} {len(data)}", half)
    return _ORIGINAL["write"](fd, data)


def _wrap_os_pwrite(fd, data, offset):
    def half():
        _ORIGINAL["pwrite"](fd, bytes(data)[: len(data) // 2], offset)

    _COUNTER.step("os.pwrite", f"{_fd_path(fd)} {len(data)}@{offset}", half)
    return _ORIGINAL["pwrite"](fd, data, offset)


def _simple(name: str, paths: int):
    """A wrapper for ``os.<name>`` whose first ``paths`` arguments name files (or fds)."""
    original = _ORIGINAL[name]

    def wrapper(*args, **kwargs):
        shown = [_path(a) for a in args[:paths]] + [repr(a) for a in args[paths:]]
        _COUNTER.step(f"os.{name}", " ".join(shown))
        return original(*args, **kwargs)

    wrapper.__name__ = name
    return wrapper


_SIMPLE = {"fsync": 1, "fdatasync": 1, "replace": 2, "rename": 2, "unlink": 1, "remove": 1, "rmdir": 1,
           "mkdir": 1, "chmod": 1, "fchmod": 1, "chown": 1, "fchown": 1, "lchown": 1, "setxattr": 1,
           "removexattr": 1, "truncate": 1, "ftruncate": 1, "link": 2, "symlink": 2, "utime": 1}
_ORIGINAL = {name: getattr(os, name) for name in (*_SIMPLE, "open", "write", "pwrite", "kill") if hasattr(os, name)}
_ORIGINAL["io.open"] = io.open
_COUNTER: _Counter


def _install() -> None:
    global _COUNTER
    kill_at = os.environ.get("SSDWIZARD_KILL_AT")
    _COUNTER = _Counter(int(kill_at) if kill_at else None, os.environ.get("SSDWIZARD_KILL_LOG"),
                        os.environ.get("SSDWIZARD_KILL_MODE") == "mid")
    for name, paths in _SIMPLE.items():
        if name in _ORIGINAL:
            setattr(os, name, _simple(name, paths))
    os.open = _wrap_os_open
    os.write = _wrap_os_write
    os.pwrite = _wrap_os_pwrite
    io.open = builtins.open = _wrap_open


if os.environ.get("SSDWIZARD_KILL_AT") or os.environ.get("SSDWIZARD_KILL_LOG"):
    _install()
