"""A systemd unit's unit file state, as the steps report it: the trim step's fstrim.timer and
the health step's smartd ask the same question, so it is answered here once."""

from __future__ import annotations

from dataclasses import dataclass

from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.systemctl import IsEnabled, UnitFileState, parse_is_enabled


def is_enabled_argv(unit: str) -> tuple[str, ...]:
    return ("systemctl", "is-enabled", unit)


@dataclass(frozen=True)
class UnitState:
    fact: str | None  # "enabled" | "disabled" | "absent" | None (DESIGN §3.2)
    state: IsEnabled | None
    evidence: Evidence


def unit_state(ctx: ProbeContext, unit: str) -> UnitState:
    """``systemctl is-enabled UNIT`` read into the report's words; None where it cannot tell
    (no systemd, or an answer systemctl does not document)."""
    argv = is_enabled_argv(unit)
    result = ctx.run(argv)
    command = " ".join(argv)
    try:
        state = parse_is_enabled(result.stdout, result.exit_code, result.stderr)
    except ParseError as exc:
        return UnitState(None, None, Evidence(command, exc.message))
    evidence = Evidence(command, f"{state.evidence} (exit {state.exit_code})")
    if state.enabled:
        fact: str | None = "enabled"
    elif state.state is UnitFileState.NOT_FOUND:
        fact = "absent"
    elif not state.systemd:
        fact = None
    else:
        fact = "disabled"
    return UnitState(fact, state, evidence)
