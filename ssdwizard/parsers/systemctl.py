"""``systemctl is-enabled UNIT``: is the weekly ``fstrim.timer`` going to run?

The trim and mount steps prefer a weekly ``fstrim.timer`` over the ``discard`` mount option,
so they need to know the timer's state, and to tell "disabled" from "not installed" from "this
machine has no systemd at all" (a container, WSL without systemd, an old SysV host). Each of
those calls for different advice, so each is its own :class:`UnitFileState`.

What systemctl prints, from systemctl(1) ("is-enabled output" table) and
``src/systemctl/systemctl-is-enabled.c`` in systemd:

* one state word on stdout: ``enabled``, ``enabled-runtime``, ``linked``, ``linked-runtime``,
  ``alias``, ``masked``, ``masked-runtime``, ``static``, ``indirect``, ``disabled``,
  ``generated``, ``transient``, ``bad``. Exit 0 for enabled, enabled-runtime, alias, static,
  indirect and generated; non-zero for the rest (the man page of older releases lists 0 for
  transient, the code returns 1; the exit code is kept but the word decides);
* a missing unit: newer systemd prints ``not-found`` and exits 4; older releases (252 on
  Debian 12, where the fixtures were captured) print ``Failed to get unit file state for
  fstrim.timer: No such file or directory`` on stderr and exit 1;
* no systemd: ``System has not been booted with systemd as init system (PID 1). Can't
  operate.`` (often followed by ``Failed to connect to bus: Host is down``), exit 1;
* the command itself missing: the shell's ``not found``, exit 127.

A SysV service may print two lines about ``systemd-sysv-install`` before the state word, and
a broken unit file adds warnings on stderr; the state word is still the answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ssdwizard.parsers import ParseError

__all__ = ["IsEnabled", "UnitFileState", "parse", "parse_is_enabled"]

SOURCE = "systemctl is-enabled"


class UnitFileState(enum.Enum):
    """Every answer ``systemctl is-enabled`` can give, plus the two ways of getting none."""

    ENABLED = "enabled"
    ENABLED_RUNTIME = "enabled-runtime"
    LINKED = "linked"
    LINKED_RUNTIME = "linked-runtime"
    ALIAS = "alias"
    MASKED = "masked"
    MASKED_RUNTIME = "masked-runtime"
    STATIC = "static"
    INDIRECT = "indirect"
    DISABLED = "disabled"
    GENERATED = "generated"
    TRANSIENT = "transient"
    BAD = "bad"
    NOT_FOUND = "not-found"
    # Not systemctl words: the host has no running systemd, or no systemctl command.
    NO_SYSTEMD = "no-systemd"
    COMMAND_MISSING = "command-missing"


# The words systemctl prints; NO_SYSTEMD and COMMAND_MISSING are ours, never printed.
_PRINTED = {
    state.value: state
    for state in UnitFileState
    if state not in (UnitFileState.NO_SYSTEMD, UnitFileState.COMMAND_MISSING)
}
# Exit statuses for "could not execute": 127 not found, 126 found but not executable (POSIX sh).
_EXEC_FAILED = {127: "not found", 126: "not executable"}
_NO_SYSTEMD = (
    "System has not been booted with systemd as init system",
    "Failed to connect to bus",
)
_FAILED_STATE = "Failed to get unit file state for "
_NO_SUCH_FILE = "No such file or directory"


@dataclass(frozen=True)
class IsEnabled:
    """The unit file state, the exit code it came with, and the line that decided it.

    ``evidence`` is the line shown to the admin next to the finding (DESIGN: every finding
    carries its evidence).
    """

    state: UnitFileState
    exit_code: int
    evidence: str

    @property
    def enabled(self) -> bool:
        """Whether the unit is enabled to start by itself (``enabled`` or ``enabled-runtime``).

        Stricter than systemctl's exit code, which is also 0 for ``static``: a static timer
        starts only if something else pulls it in, which is not what "enabled" tells an admin.
        """
        return self.state in (UnitFileState.ENABLED, UnitFileState.ENABLED_RUNTIME)

    @property
    def exists(self) -> bool:
        """Whether systemd knows a unit file by that name."""
        return self.state not in (
            UnitFileState.NOT_FOUND,
            UnitFileState.NO_SYSTEMD,
            UnitFileState.COMMAND_MISSING,
        )

    @property
    def systemd(self) -> bool:
        """Whether systemctl ran and could answer (so the host uses systemd)."""
        return self.state not in (UnitFileState.NO_SYSTEMD, UnitFileState.COMMAND_MISSING)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _printed_state(stdout: str) -> tuple[UnitFileState, str] | None:
    # Unindented lines only: with --full, systemctl lists installation targets indented below
    # the word; SysV redirect notices come before it, so the last word wins.
    words = [
        line.strip()
        for line in stdout.splitlines()
        if line.strip() and not line[:1].isspace() and line.strip() in _PRINTED
    ]
    if not words:
        return None
    return _PRINTED[words[-1]], words[-1]


def parse_is_enabled(stdout: str, exit_code: int, stderr: str = "") -> IsEnabled:
    """Read what ``systemctl is-enabled UNIT`` printed and its exit code.

    ``stderr`` is optional because the messages of the no-unit and no-systemd cases go to
    stderr; profiles that merged both streams into stdout work too. Raises :class:`ParseError`
    when the output is none of the documented answers.
    """
    if exit_code in _EXEC_FAILED:
        evidence = (_lines(stderr) or _lines(stdout) or [f"systemctl: {_EXEC_FAILED[exit_code]}"])[0]
        return IsEnabled(UnitFileState.COMMAND_MISSING, exit_code, evidence)
    printed = _printed_state(stdout)
    if printed is not None:
        return IsEnabled(printed[0], exit_code, printed[1])
    messages = _lines(stdout) + _lines(stderr)
    for line in messages:
        if line.startswith(_NO_SYSTEMD):
            return IsEnabled(UnitFileState.NO_SYSTEMD, exit_code, line)
    for line in messages:
        if line.startswith(_FAILED_STATE):
            # "No such file" is how older systemd (252 here) says not-found; any other reason
            # (permission, invalid unit) is what the man page calls "bad".
            state = UnitFileState.NOT_FOUND if line.endswith(_NO_SUCH_FILE) else UnitFileState.BAD
            return IsEnabled(state, exit_code, line)
    if not messages:
        raise ParseError(SOURCE, f"printed nothing (exit {exit_code}); expected a unit file state")
    raise ParseError(SOURCE, f"unexpected output (exit {exit_code}): {messages[0][:120]!r}")


parse = parse_is_enabled
