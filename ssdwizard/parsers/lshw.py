"""Parse ``lshw -json -class storage`` (and lshw's plain tree output) into storage controllers.

The ahci step uses lshw to name the controllers and the driver bound to each: ``ahci`` means
the BIOS runs the SATA ports in AHCI mode; ``ata_piix``/``pata_*`` means IDE emulation.
Classify by driver, never by the PCI description: lshw calls some AHCI controllers
"IDE interface" (their PCI class), and the driver is what the kernel actually uses.

lshw's JSON is not always JSON: versions before B.02.19 print several objects one after the
other without a surrounding list, some with trailing commas. Those shapes are read too.
The plain tree (``lshw`` / ``lshw -class storage`` without ``-json``) is what people paste in
forums; :func:`parse_lshw_text` reads it so such pastes can serve as evidence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError

SOURCE = "lshw -json -class storage"
TEXT_SOURCE = "lshw"

_IDE_DRIVERS = ("ata_piix", "ata_generic", "pata_", "piix", "ide")
_RAID_DRIVERS = ("megaraid", "mpt2sas", "mpt3sas", "mptsas", "aacraid", "hpsa", "smartpqi",
                 "arcmsr", "3w-", "mvsas", "isci", "pm80xx")
# Tree-node ids that lshw gives storage controllers.
_STORAGE_IDS = ("storage", "ide", "sata", "nvme", "raid", "scsi", "sas", "fc")


@dataclass(frozen=True)
class StorageController:
    """One storage controller node."""

    id: str | None
    description: str | None
    product: str | None
    vendor: str | None
    businfo: str | None
    driver: str | None
    capabilities: tuple[str, ...]
    logical_names: tuple[str, ...]

    @property
    def pci(self) -> str | None:
        """``pci@0000:00:1f.2`` -> ``0000:00:1f.2``; None for non-PCI bus info."""
        if self.businfo and self.businfo.startswith("pci@"):
            return self.businfo[4:]
        return None

    @property
    def ahci_capability(self) -> bool:
        return any(cap.startswith("ahci_") for cap in self.capabilities)

    @property
    def kind(self) -> str:
        """"ahci", "ide", "nvme", "virtio", "raid" or "other", decided by the bound driver."""
        drv = (self.driver or "").lower()
        if drv == "ahci":
            return "ahci"
        if drv.startswith(_IDE_DRIVERS):
            return "ide"
        if drv == "nvme":
            return "nvme"
        if drv.startswith("virtio"):
            return "virtio"
        if drv.startswith(_RAID_DRIVERS):
            return "raid"
        return "other"


@dataclass(frozen=True)
class LshwStorage:
    """All storage controllers found, in document order."""

    controllers: tuple[StorageController, ...]

    def by_driver(self, driver: str) -> tuple[StorageController, ...]:
        return tuple(c for c in self.controllers if c.driver == driver)


def parse_lshw(text: str) -> LshwStorage:
    """Parse either lshw's JSON or its plain tree, whichever ``text`` is."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    if text.lstrip().startswith(("{", "[")):
        return parse_lshw_json(text)
    return parse_lshw_text(text)


# ---------------------------------------------------------------- JSON


def _drop_trailing_commas(text: str) -> str:
    """Remove commas directly before ``}``/``]`` outside strings (old lshw emits them)."""
    out: list[str] = []
    in_string = escaped = False
    pending_comma: int | None = None
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
            pending_comma = None
        elif ch == ",":
            pending_comma = len(out)
        elif ch in "}]" and pending_comma is not None:
            out[pending_comma] = ""
            pending_comma = None
        elif not ch.isspace():
            pending_comma = None
        out.append(ch)
    return "".join(out)


def _decode_sequence(text: str) -> list[Any]:
    """Decode one JSON value or several in a row (separated by whitespace or commas)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and (text[pos].isspace() or text[pos] == ","):
            pos += 1
        if pos >= end:
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)


def parse_lshw_json(text: str) -> LshwStorage:
    """Parse ``lshw -json -class storage`` output (list, single object, or bare sequence)."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    try:
        values = _decode_sequence(_drop_trailing_commas(text))
    except (ValueError, RecursionError) as exc:
        raise ParseError(SOURCE, f"not JSON ({exc.__class__.__name__})") from None
    nodes: list[dict[str, Any]] = []
    for value in values:
        _collect(value, nodes)
    if not nodes and not (values and all(v == [] for v in values)):
        raise ParseError(SOURCE, "no lshw nodes (objects with 'id'/'class') in the JSON")
    controllers = tuple(_controller(n) for n in nodes if n.get("class") == "storage")
    return LshwStorage(controllers=controllers)


def _collect(value: Any, nodes: list[dict[str, Any]], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(value, list):
        for item in value:
            _collect(item, nodes, depth + 1)
    elif isinstance(value, dict) and ("id" in value or "class" in value):
        nodes.append(value)
        _collect(value.get("children"), nodes, depth + 1)


def _s(value: Any) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _controller(node: dict[str, Any]) -> StorageController:
    config = node.get("configuration")
    caps = node.get("capabilities")
    logical = node.get("logicalname")
    if isinstance(logical, str):
        names: tuple[str, ...] = (logical,)
    elif isinstance(logical, list):
        names = tuple(str(x) for x in logical if isinstance(x, str))
    else:
        names = ()
    return StorageController(
        id=_s(node.get("id")),
        description=_s(node.get("description")),
        product=_s(node.get("product")),
        vendor=_s(node.get("vendor")),
        businfo=_s(node.get("businfo")),
        driver=_s(config.get("driver")) if isinstance(config, dict) else None,
        capabilities=tuple(str(k) for k in caps) if isinstance(caps, dict) else (),
        logical_names=names,
    )


# ---------------------------------------------------------------- plain tree

_NODE_RE = re.compile(r"^(\s*)\*-(\S+)")
_FIELD_RE = re.compile(r"^\s+([a-z][a-z ]*?):\s?(.*)$")


def parse_lshw_text(text: str) -> LshwStorage:
    """Parse lshw's plain tree; keep the nodes that are PCI storage controllers."""
    if not isinstance(text, str):
        raise ParseError(TEXT_SOURCE, "expected text")
    nodes: list[tuple[str, dict[str, str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        node = _NODE_RE.match(line)
        if node:
            nodes.append((node.group(2), {}))
            continue
        field = _FIELD_RE.match(line)
        if field and nodes:
            nodes[-1][1].setdefault(field.group(1).strip(), field.group(2).strip())
    if not nodes:
        raise ParseError(TEXT_SOURCE, "no '*-node' lines: not lshw output")
    controllers = []
    for node_id, fields in nodes:
        base = node_id.split(":")[0].lower()
        bus = fields.get("bus info", "")
        if base not in _STORAGE_IDS or not bus.startswith("pci@"):
            continue
        config = dict(
            item.split("=", 1) for item in fields.get("configuration", "").split() if "=" in item
        )
        controllers.append(
            StorageController(
                id=node_id,
                description=fields.get("description") or None,
                product=fields.get("product") or None,
                vendor=fields.get("vendor") or None,
                businfo=bus,
                driver=config.get("driver") or None,
                capabilities=tuple(fields.get("capabilities", "").split()),
                logical_names=tuple(fields["logical name"].split()) if "logical name" in fields else (),
            )
        )
    return LshwStorage(controllers=tuple(controllers))
