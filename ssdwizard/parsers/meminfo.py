"""/proc/meminfo: how much RAM the node has, to weigh the RAM the rbd caches reserve.

Each line is ``Name:   value kB`` (a few counters, such as ``HugePages_Total``, have no unit and
count pages). ``MemAvailable`` exists since Linux 3.14; on older kernels it is ``None`` here
rather than guessed from ``MemFree``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ssdwizard.parsers import ParseError

__all__ = ["Meminfo", "parse"]

_LINE = re.compile(r"^([A-Za-z0-9_()]+):\s+([0-9]+)(?:\s+(kB))?\s*$")


@dataclass(frozen=True)
class Meminfo:
    """Totals in bytes; ``fields`` keeps every counter as printed (kB counters in kB)."""

    total_bytes: int
    available_bytes: int | None
    free_bytes: int | None
    fields: tuple[tuple[str, int], ...]

    @property
    def values(self) -> Mapping[str, int]:
        return dict(self.fields)


def parse(text: str) -> Meminfo:
    """Parse /proc/meminfo; :class:`ParseError` when there is no ``MemTotal`` line."""
    fields: list[tuple[str, int]] = []
    units: dict[str, str | None] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            fields.append((match.group(1), int(match.group(2))))
            units[match.group(1)] = match.group(3)
    values = dict(fields)

    def in_bytes(name: str) -> int | None:
        if name not in values:
            return None
        return values[name] * 1024 if units[name] == "kB" else values[name]

    total = in_bytes("MemTotal")
    if total is None:
        raise ParseError("/proc/meminfo", "no 'MemTotal:' line")
    return Meminfo(total, in_bytes("MemAvailable"), in_bytes("MemFree"), tuple(fields))
