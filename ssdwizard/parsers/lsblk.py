"""``lsblk --json --bytes --output-all`` → block devices.

util-linux changed the JSON's value types over the years: before 2.33 every value was a
string (``"rota": "1"``, ``"size": "500107862016"``); newer ones print booleans and numbers.
Without ``--bytes`` sizes are human strings (``"465.8G"``). All of these read the same here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError

SOURCE = "lsblk --json"

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5, "E": 1024**6}
_HUMAN_SIZE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([KMGTPE]?)(?:i?B)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BlockDevice:
    """One lsblk entry; None where lsblk did not print the column."""

    name: str
    kname: str | None
    path: str | None
    type: str | None
    size_bytes: int | None
    model: str | None
    serial: str | None
    revision: str | None
    vendor: str | None
    transport: str | None
    subsystems: str | None
    rotational: bool | None
    removable: bool | None
    scheduler: str | None
    discard_granularity: int | None
    discard_max_bytes: int | None
    discard_zeroes: bool | None
    fstype: str | None
    mountpoints: tuple[str, ...]
    children: tuple[BlockDevice, ...]
    raw: dict[str, Any]

    def walk(self) -> list[BlockDevice]:
        """This device and everything stacked on it (partitions, dm, md), depth first."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


def _text(value: Any) -> str | None:
    """A string column: stripped (lsblk pads vendor/model), empty → None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    return None


def parse_size(value: Any) -> int | None:
    """A size column: an int, a digit string, or a human string like ``465.8G`` / ``4K``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 else None
    match = _HUMAN_SIZE.match(str(value))
    if not match:
        return None
    try:
        return int(float(match.group(1).replace(",", ".")) * _UNITS[match.group(2).upper()])
    except (OverflowError, ValueError):  # a digit string too long to be a real size
        return None


def _mountpoints(entry: dict[str, Any]) -> tuple[str, ...]:
    # util-linux >= 2.37 prints "mountpoints" (a list, [null] when unmounted); older ones
    # only "mountpoint".
    points = entry.get("mountpoints")
    if not isinstance(points, list):
        points = [entry.get("mountpoint")]
    return tuple(p for p in points if isinstance(p, str) and p)


def _device(entry: Any, depth: int) -> BlockDevice:
    if not isinstance(entry, dict):
        raise ParseError(SOURCE, f"a block device must be an object, got {type(entry).__name__}")
    name = _text(entry.get("name"))
    if name is None:
        raise ParseError(SOURCE, "a block device has no name")
    if depth > 32:
        raise ParseError(SOURCE, "devices nested deeper than any real stack")
    children = entry.get("children") or []
    if not isinstance(children, list):
        raise ParseError(SOURCE, f"{name}: children must be a list")
    return BlockDevice(
        name=name,
        kname=_text(entry.get("kname")),
        path=_text(entry.get("path")),
        type=_text(entry.get("type")),
        size_bytes=parse_size(entry.get("size")),
        model=_text(entry.get("model")),
        serial=_text(entry.get("serial")),
        revision=_text(entry.get("rev")),
        vendor=_text(entry.get("vendor")),
        transport=_text(entry.get("tran")),
        subsystems=_text(entry.get("subsystems")),
        rotational=_flag(entry.get("rota")),
        removable=_flag(entry.get("rm")),
        scheduler=_text(entry.get("sched")),
        discard_granularity=parse_size(entry.get("disc-gran")),
        discard_max_bytes=parse_size(entry.get("disc-max")),
        discard_zeroes=_flag(entry.get("disc-zero")),
        fstype=_text(entry.get("fstype")),
        mountpoints=_mountpoints(entry),
        children=tuple(_device(child, depth + 1) for child in children),
        raw=entry,
    )


def parse_lsblk_json(text: str) -> list[BlockDevice]:
    """The top-level devices of ``lsblk --json`` output, each with its children."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(SOURCE, f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("blockdevices"), list):
        raise ParseError(SOURCE, 'no "blockdevices" list')
    return [_device(entry, 0) for entry in data["blockdevices"]]
