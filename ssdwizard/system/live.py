"""This machine: commands through ``sh`` with a kill timer, files read in bounded chunks."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from ssdwizard.system.base import (
    COMMAND_ENV_OVERRIDES,
    DEFAULT_TIMEOUT_S,
    EXIT_NOT_FOUND,
    CommandResult,
    System,
    decode_output,
    read_chunks,
)
from ssdwizard.system.writer import STATE_DIR, Writer


def _read_file(path: str | Path) -> str | None:
    """A file's text on this machine, or None when it is missing or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, ValueError):  # ValueError: a NUL in the path (read from a garbled fstab)
        return None
    try:
        return decode_output(read_chunks(fd))
    except OSError:
        return None
    finally:
        os.close(fd)



class LiveSystem(System):
    """This machine. Commands run through ``sh`` with a timeout, in the C locale."""

    def __init__(self, default_timeout: float = DEFAULT_TIMEOUT_S, state_dir: str = STATE_DIR) -> None:
        self.default_timeout = default_timeout
        #: Where apply keeps its undo journal and lock (tests point it at a temporary folder).
        self.state_dir = state_dir
        self._env = {**os.environ, **COMMAND_ENV_OVERRIDES}

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        # Imported here: sh costs ~50 ms to import, and a report replayed from a profile
        # never runs a program.
        import sh

        argv = tuple(argv)
        limit = self.default_timeout if timeout is None else timeout
        try:
            program = sh.Command(argv[0])
        except sh.CommandNotFound:
            return CommandResult(argv, EXIT_NOT_FOUND, "", f"{argv[0]}: command not found")
        # Not sh's own _timeout: its watchdog thread wakes every 100 ms, and every command
        # would pay up to that much on top of its run time. A timer that kills the process
        # costs nothing until it fires.
        try:
            done = program(
                *argv[1:],
                _bg=True,
                _bg_exc=False,
                _ok_code=list(range(256)),
                _return_cmd=True,
                _env=self._env,
                _in="",
                _tty_out=False,
            )
        except OSError as exc:  # exec failed: not executable, wrong binary format
            return CommandResult(argv, 126, "", f"{argv[0]}: {exc.strerror or exc}")
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            with contextlib.suppress(Exception):  # it may have ended just now
                done.kill()

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        try:
            done.wait()
        except (sh.SignalException, sh.ErrorReturnCode) as exc:
            if expired.is_set():
                return CommandResult(argv, -1, "", f"{argv[0]} did not finish within {limit:g} s", timed_out=True)
            # Killed by a signal (OOM, a watchdog): report it as a failed run, like a shell would.
            return CommandResult(argv, 128 + abs(getattr(exc, "exit_code", 1)), decode_output(exc.stdout), decode_output(exc.stderr))
        finally:
            timer.cancel()
        return CommandResult(argv, done.exit_code, decode_output(done.stdout), decode_output(done.stderr))

    def read_text(self, path: str) -> str | None:
        return _read_file(path)

    # ValueError below: a path with a NUL in it (read from a garbled fstab) names no file.
    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except (OSError, ValueError):
            return []

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except (OSError, ValueError):
            return None

    def realpath(self, path: str) -> str:
        if "\0" in path:
            return path
        return os.path.realpath(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def writer(self) -> Writer:
        return Writer(self, Path("/"), Path, simulate_commands=False, euid=os.geteuid(), state_dir=self.state_dir)
