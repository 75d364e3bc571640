"""One-value sysfs files: ``queue/scheduler``, ``queue/rotational``, sizes and counters."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ssdwizard.parsers import ParseError

_SCHEDULER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class SchedulerChoice:
    """``queue/scheduler``: the active one (in brackets) and all the kernel offers."""

    current: str | None
    available: tuple[str, ...]


def parse_scheduler(text: str) -> SchedulerChoice:
    """Read both the legacy (``noop deadline [cfq]``) and blk-mq (``[mq-deadline] kyber bfq none``)
    forms. A lone ``none`` without brackets is what devices that cannot take an elevator
    (zram, some stacked devices) show: current ``none``, nothing to choose."""
    source = "queue/scheduler"
    tokens = text.split()
    if not tokens:
        raise ParseError(source, "empty")
    current: str | None = None
    available: list[str] = []
    for token in tokens:
        name = token
        if token.startswith("[") and token.endswith("]") and len(token) > 2:
            name = token[1:-1]
            if current is not None:
                raise ParseError(source, f"two active schedulers: {current} and {name}")
            current = name
        if not _SCHEDULER_NAME.match(name):
            raise ParseError(source, f"not a scheduler name: {token!r}")
        available.append(name)
    if current is None and available == ["none"]:
        current = "none"
    return SchedulerChoice(current, tuple(available))


def parse_flag(text: str, source: str) -> bool:
    """A 0/1 file such as ``queue/rotational``."""
    value = text.strip()
    if value == "1":
        return True
    if value == "0":
        return False
    raise ParseError(source, f"expected 0 or 1, got {value[:40]!r}")


def parse_int(text: str, source: str) -> int:
    """A non-negative integer file such as ``size`` or ``queue/discard_max_bytes``."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise ParseError(source, f"expected a whole number, got {value[:40]!r}")
    return int(value)


_LINK_SPEED = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*Gbps\s*$")


def parse_link_speed(text: str | None) -> float | None:
    """``/sys/class/ata_link/linkN/sata_spd`` or ``hw_sata_spd_limit``: ``6.0 Gbps`` → 6.0.
    The kernel writes ``<unknown>`` for a link that is down or a limit that is not set: None."""
    match = _LINK_SPEED.match(text or "")
    return float(match.group(1)) if match else None
