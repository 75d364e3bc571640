"""What every probe is given: the machine, the admin's disk choice, and a cache that makes each
command run and each file be read once per report, however many steps ask."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ssdwizard.system.base import CommandResult, System

T = TypeVar("T")

# Commands at once: enough to hide per-disk latency on a big box, few enough not to storm a
# struggling HBA with SMART queries.
DEFAULT_JOBS = 16


class ProbeContext:
    """What every probe is given: the machine, the admin's choices, and a shared cache.

    The cache makes each command run (and each file read) once per report however many
    steps ask for it, also when steps probe concurrently: a second asker waits for the
    first one's answer instead of running the command again.
    """

    def __init__(self, system: System, chosen_disks: tuple[str, ...] | None = None,
                 jobs: int = DEFAULT_JOBS) -> None:
        self.system = system
        self.chosen_disks = chosen_disks
        self.jobs = max(1, jobs)
        self._values: dict[tuple, Any] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pool: Any = None  # a ThreadPoolExecutor, made on first use

    @property
    def parallel(self) -> bool:
        """Whether running commands and probes at once can help: not with one job, and not on
        a profile whose every reply is instant (threads would only add their own overhead)."""
        return self.jobs > 1 and not self.system.answers_instantly

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def prefetch(self, commands: Iterable[tuple[str, ...]]) -> None:
        """Run these commands at once, at most ``jobs`` at a time, so that a probe asking for
        one per disk waits for the slowest of them rather than for their sum. The answers land
        in the cache; :meth:`run` then returns them."""
        pending = [tuple(argv) for argv in commands]
        if len(pending) <= 1 or not self.parallel:
            for argv in pending:
                self.run(argv)
            return
        from concurrent.futures import ThreadPoolExecutor  # only paid for when threads are used

        with self._guard:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="probe-cmd")
            pool = self._pool
        for future in [pool.submit(self.run, argv) for argv in pending]:
            future.result()

    def once(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for; the same value after that."""
        with self._guard:
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = compute()
            with self._guard:
                self._values[key] = value
            return value

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        argv = tuple(argv)
        return self.once(("run", argv), lambda: self.system.run(argv, timeout))

    def read_text(self, path: str) -> str | None:
        return self.once(("read", path), lambda: self.system.read_text(path))

    def read_value(self, path: str) -> str | None:
        """A one-value file (sysfs) stripped of its newline; None when absent."""
        text = self.read_text(path)
        return None if text is None else text.strip()

    def listdir(self, path: str) -> list[str]:
        return self.once(("listdir", path), lambda: self.system.listdir(path))

    def readlink(self, path: str) -> str | None:
        return self.once(("readlink", path), lambda: self.system.readlink(path))

    def realpath(self, path: str) -> str:
        return self.once(("realpath", path), lambda: self.system.realpath(path))
