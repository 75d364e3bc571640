"""Parse the kernel log (``dmesg``) for the SATA/AHCI facts the ahci, sata and disks steps need.

The kernel log is the only place that shows, in one text, how the controller was set up by
the BIOS (AHCI banner: SATA/RAID/IDE mode, its speed), what each link negotiated
(``ata5: SATA link up 3.0 Gbps``), which disk sits on which port (``ata5.00: ATA-9: model,
firmware``) and which libata quirks the kernel applied to that model. The text arrives in many
shapes: plain ``dmesg`` (with or without ``[    1.234]`` stamps), ``dmesg | grep``, syslog
files (``Jan 23 00:06:35 host kernel: [...]``) and ``journalctl -k``. The prefix is stripped
and the message matched, so all of them read the same.

Unknown lines are ignored: the kernel log is free text and most of it is not about storage.
A restricted log (``dmesg: read kernel buffer failed: Operation not permitted``) or an empty
one is its own result, :class:`DmesgUnavailable`, so the step can fall back to sysfs and say
why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ssdwizard.parsers import ParseError

SOURCE = "dmesg"

_PREFIXES = (
    # syslog / journalctl short format: "Jan 23 00:06:35 earth kernel: "
    re.compile(r"^[A-Z][a-z]{2}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s+\S+\s+kernel:\s?"),
    # journalctl -o short-iso / rsyslog high-precision: "2024-01-02T03:04:05+0100 host kernel: "
    re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\S*\s+\S+\s+kernel:\s?"),
    # dmesg -x: "kern  :info  : "
    re.compile(r"^[a-z]+\s*:[a-z]+\s*:\s?"),
    # printk time: "[    1.234567] " (also unpadded "[0.409849]") and dmesg -T "[Mon Jan 23 ...]"
    re.compile(r"^\[\s*\d+\.\d+\]\s?"),
    re.compile(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2}\s+\d{1,2} [\d:]{8} \d{4}\]\s?"),
)

_PCI = r"(?P<pci>[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])"
# Kernels up to 6.5: "AHCI 0001.0300 32 slots 6 ports 6 Gbps 0x3f impl SATA mode"
_AHCI_OLD = re.compile(
    r"^ahci " + _PCI + r": AHCI (?P<ver>[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}) (?P<slots>\d+) slots "
    r"(?P<ports>\d+) ports (?P<gbps>[\d.]+|\?) Gbps (?P<map>0x[0-9a-fA-F]+) impl (?P<mode>\S+) mode"
)
# Kernels from 6.6: "AHCI vers 0001.0301, 32 command slots, 6 Gbps, SATA mode"
# followed by "4/8 ports implemented (port mask 0x33)".
_AHCI_NEW = re.compile(
    r"^ahci " + _PCI + r": AHCI vers (?P<ver>[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}), (?P<slots>\d+) "
    r"command slots, (?P<gbps>[\d.]+|\?) Gbps, (?P<mode>\S+) mode"
)
_AHCI_PORTS = re.compile(
    r"^ahci " + _PCI + r": (?P<impl>\d+)/(?P<total>\d+) ports implemented \(port mask (?P<map>0x[0-9a-fA-F]+)\)"
)
_AHCI_FLAGS = re.compile(r"^ahci " + _PCI + r": flags: (?P<flags>.*)$")
_DRIVER_PCI = re.compile(r"^(?P<drv>[a-z][\w-]*) " + _PCI + r": ")
_SCSI_HOST = re.compile(r"^scsi(?: host)?\d+\s*: (?P<drv>\S+)\s*$")
_PORT = re.compile(r"^(?P<port>ata\d+): (?P<kind>SATA|PATA) max (?P<mode>\S+)(?P<rest>.*)$")
_DUMMY = re.compile(r"^(?P<port>ata\d+): DUMMY\s*$")
_LINK_UP = re.compile(
    r"^(?P<port>ata\d+(?:\.\d+)?): SATA link up (?P<speed>[\d.]+ Gbps|<unknown>)"
    r"(?: \(SStatus (?P<ss>\w+) SControl (?P<sc>\w+)\))?"
)
_LINK_DOWN = re.compile(
    r"^(?P<port>ata\d+(?:\.\d+)?): SATA link down(?: \(SStatus (?P<ss>\w+) SControl (?P<sc>\w+)\))?"
)
_IDENTITY = re.compile(r"^(?P<dev>ata\d+\.\d+): (?P<kind>ATA-\d+|ATA|CFA|ATAPI): (?P<rest>.*)$")
_SECTORS = re.compile(
    r"^(?P<dev>ata\d+\.\d+): (?P<sectors>\d+) sectors, multi \d+: \S+(?: NCQ \(depth (?P<depth>\d+)(?:/\d+)?\))?"
)
_QUIRKS = re.compile(
    r"^(?P<dev>ata\d+\.\d+): Model '(?P<model>.*)', rev '(?P<rev>.*)', applying quirks:\s*(?P<quirks>.*)$"
)
_RESTRICTED = re.compile(r"read kernel buffer failed|dmesg: .*operation not permitted", re.IGNORECASE)

# Legacy (non-AHCI) ATA drivers: IDE emulation or native PATA/SFF controllers.
_LEGACY_DRIVERS = ("ata_piix", "ata_generic", "pata_", "piix", "ide", "sata_via", "sata_sis",
                   "sata_uli", "sata_svw", "sata_nv", "sata_sil", "sata_promise", "sata_vsc")


@dataclass(frozen=True)
class AhciController:
    """One AHCI host controller as the ahci driver announced it."""

    pci: str
    version: str
    slots: int
    gbps: float | None
    mode: str  # "SATA", "RAID", "IDE" or "unknown", as the kernel prints it
    ports_total: int | None
    port_map: int | None
    ports_implemented: int | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class AtaPort:
    """An ``ataN`` port the kernel created, and the driver it belongs to (if the log shows it)."""

    port: str
    kind: str  # "SATA", "PATA" or "DUMMY"
    max_mode: str | None
    driver: str | None
    pci: str | None
    external: bool
    bmdma: bool  # legacy taskfile/bus-master-DMA registers: an IDE-style (non-AHCI) port


@dataclass(frozen=True)
class AtaLink:
    """A ``SATA link up/down`` line; ``gbps`` is None when the link is down or speed unknown."""

    port: str
    up: bool
    gbps: float | None
    sstatus: str | None
    scontrol: str | None


@dataclass(frozen=True)
class AtaDevice:
    """A device libata identified on a port: ``ata5.00: ATA-8: model, firmware, max UDMA/133``."""

    device: str
    port: str
    kind: str  # "ATA-9", "ATAPI", "CFA", ...
    model: str
    firmware: str
    max_mode: str
    sectors: int | None
    ncq_depth: int | None
    quirks: tuple[str, ...]

    @property
    def atapi(self) -> bool:
        return self.kind == "ATAPI"


@dataclass(frozen=True)
class AppliedQuirks:
    """The libata quirk line (kernel 6.10+): ``Model '…', rev '…', applying quirks: …``."""

    device: str
    model: str
    revision: str
    quirks: tuple[str, ...]


@dataclass(frozen=True)
class DmesgLog:
    """The storage facts found in a kernel log."""

    controllers: tuple[AhciController, ...]
    ports: tuple[AtaPort, ...]
    links: tuple[AtaLink, ...]
    devices: tuple[AtaDevice, ...]
    quirks: tuple[AppliedQuirks, ...]
    ahci_driver_seen: bool
    legacy_ide: bool
    nvme_seen: bool
    drivers: tuple[str, ...]
    lines: int

    @property
    def ahci_present(self) -> bool:
        return bool(self.controllers) or self.ahci_driver_seen

    def port(self, name: str) -> AtaPort | None:
        return next((p for p in self.ports if p.port == name), None)

    def link(self, name: str) -> AtaLink | None:
        """The last link line for a port (a port renegotiates after errors: the last one holds)."""
        found = [link for link in self.links if link.port == name]
        return found[-1] if found else None


@dataclass(frozen=True)
class DmesgUnavailable:
    """The log could not be read: ``reason`` is ``"restricted"`` or ``"empty"``."""

    reason: str
    message: str


DmesgResult = Union[DmesgLog, DmesgUnavailable]  # a runtime alias: `X | Y` needs Python 3.10


def strip_prefix(line: str) -> str:
    """Remove syslog/journal/printk prefixes so only the kernel message remains."""
    out = line.strip()
    for _ in range(3):  # syslog prefix, then the printk stamp it carries
        for pattern in _PREFIXES:
            new = pattern.sub("", out, count=1)
            if new != out:
                out = new.strip()
                break
        else:
            break
    return out


def parse_dmesg(text: str) -> DmesgResult:
    """Parse kernel log text; see the module docstring for the accepted shapes."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    if "\x00" in text:
        raise ParseError(SOURCE, "binary data, not a kernel log")
    raw_lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not raw_lines:
        return DmesgUnavailable(reason="empty", message="the kernel log was empty")
    if len(raw_lines) <= 3 and any(_RESTRICTED.search(ln) for ln in raw_lines):
        restricted = next(ln for ln in raw_lines if _RESTRICTED.search(ln))
        return DmesgUnavailable(reason="restricted", message=restricted.strip())
    try:
        return _parse_lines([strip_prefix(ln) for ln in raw_lines])
    except (ValueError, OverflowError) as exc:  # a number too long for int(): not a real log
        raise ParseError(SOURCE, f"unreadable number in the log ({exc})") from None


@dataclass
class _ControllerDraft:
    """An AHCI controller while its lines arrive (banner, port map, flags: any order, any may be
    missing). ``version`` is None until the banner: without it there is no controller."""

    version: str | None = None
    slots: int = 0
    gbps: float | None = None
    mode: str = "unknown"
    ports_total: int | None = None
    port_map: int | None = None
    ports_implemented: int | None = None
    flags: tuple[str, ...] = ()


@dataclass
class _DeviceDraft:
    """An ATA device while its lines arrive. ``model`` is None until the identity line: a
    sectors or quirks line alone does not make a device."""

    kind: str = ""
    model: str | None = None
    firmware: str = ""
    max_mode: str = ""
    sectors: int | None = None
    ncq_depth: int | None = None
    quirks: tuple[str, ...] = ()


class _State:
    """Mutable accumulator for one pass over the log; frozen into a DmesgLog at the end."""

    def __init__(self) -> None:
        self.controllers: dict[str, _ControllerDraft] = {}
        self.ports: list[AtaPort] = []
        self.links: list[AtaLink] = []
        self.devices: dict[str, _DeviceDraft] = {}
        self.quirks: list[AppliedQuirks] = []
        self.drivers: list[str] = []
        self.last_host_driver: str | None = None
        self.last_pci: dict[str, str] = {}
        self.ahci_seen = False
        self.nvme_seen = False

    def note_driver(self, driver: str) -> None:
        if driver not in self.drivers:
            self.drivers.append(driver)

    def controller(self, pci: str) -> _ControllerDraft:
        return self.controllers.setdefault(pci, _ControllerDraft())

    def device(self, name: str) -> _DeviceDraft:
        return self.devices.setdefault(name, _DeviceDraft())


def _parse_lines(lines: list[str]) -> DmesgLog:
    st = _State()
    for msg in lines:
        try:
            _read_line(st, msg)
        except (ValueError, OverflowError):
            continue  # a damaged line (a number too long for int()) says nothing reliable
    return _freeze(st, len(lines))


def _gbps(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_line(st: _State, msg: str) -> None:
    if msg.startswith("ahci"):
        st.ahci_seen = True
        st.note_driver("ahci")
    if msg.startswith("nvme "):
        st.nvme_seen = True
    if m := _DRIVER_PCI.match(msg):
        st.last_pci[m.group("drv")] = m.group("pci")
        if m.group("drv").startswith(_LEGACY_DRIVERS):
            st.note_driver(m.group("drv"))
    if m := _AHCI_OLD.match(msg):
        ctrl = st.controller(m.group("pci"))
        _read_banner(ctrl, m)
        ctrl.port_map = int(m.group("map"), 16)
        ctrl.ports_total = int(m.group("ports"))
        ctrl.ports_implemented = bin(ctrl.port_map).count("1")
        return
    if m := _AHCI_NEW.match(msg):
        _read_banner(st.controller(m.group("pci")), m)
        return
    if m := _AHCI_PORTS.match(msg):
        ctrl = st.controller(m.group("pci"))
        ctrl.ports_implemented = int(m.group("impl"))
        ctrl.ports_total = int(m.group("total"))
        ctrl.port_map = int(m.group("map"), 16)
        return
    if m := _AHCI_FLAGS.match(msg):
        st.controller(m.group("pci")).flags = tuple(m.group("flags").split())
        return
    if m := _SCSI_HOST.match(msg):
        st.last_host_driver = m.group("drv")
        st.note_driver(m.group("drv"))
        return
    if m := _PORT.match(msg):
        rest = m.group("rest")
        driver = "ahci" if " abar " in f" {rest} " else st.last_host_driver
        pci = st.last_pci.get(driver) if driver else None
        st.ports.append(AtaPort(port=m.group("port"), kind=m.group("kind"), max_mode=m.group("mode"),
                                driver=driver, pci=pci, external=rest.rstrip().endswith(" ext"),
                                bmdma="bmdma" in rest.split()))
        return
    if m := _DUMMY.match(msg):
        driver = st.last_host_driver
        st.ports.append(AtaPort(port=m.group("port"), kind="DUMMY", max_mode=None, driver=driver,
                                pci=st.last_pci.get(driver) if driver else None, external=False,
                                bmdma=False))
        return
    if m := _LINK_UP.match(msg):
        speed = m.group("speed")
        gbps = _gbps(speed.split()[0]) if speed != "<unknown>" else None
        st.links.append(AtaLink(port=m.group("port"), up=True, gbps=gbps,
                                sstatus=m.group("ss"), scontrol=m.group("sc")))
        return
    if m := _LINK_DOWN.match(msg):
        st.links.append(AtaLink(port=m.group("port"), up=False, gbps=None,
                                sstatus=m.group("ss"), scontrol=m.group("sc")))
        return
    if m := _IDENTITY.match(msg):
        _read_identity(st, m)
        return
    if m := _SECTORS.match(msg):
        dev = st.device(m.group("dev"))
        dev.sectors = int(m.group("sectors"))
        if m.group("depth") is not None:
            dev.ncq_depth = int(m.group("depth"))
        return
    if m := _QUIRKS.match(msg):
        names = tuple(m.group("quirks").split())
        st.quirks.append(AppliedQuirks(device=m.group("dev"), model=m.group("model").strip(),
                                       revision=m.group("rev").strip(), quirks=names))
        st.device(m.group("dev")).quirks = names


def _read_banner(ctrl: _ControllerDraft, m: re.Match[str]) -> None:
    """What both banner shapes (before and from kernel 6.6) carry: version, slots, speed, mode."""
    ctrl.version = m.group("ver")
    ctrl.slots = int(m.group("slots"))
    ctrl.gbps = _gbps(m.group("gbps"))
    ctrl.mode = m.group("mode")


def _read_identity(st: _State, m: re.Match[str]) -> None:
    rest = m.group("rest")
    # "model, firmware, max UDMA/133[, extra]": the model itself may contain commas, so the
    # split works from the right on the ", max " marker.
    head, sep, tail = rest.rpartition(", max ")
    if not sep:
        return
    model, _, firmware = head.rpartition(", ")
    max_mode = tail.split(",")[0].split()[0] if tail.split() else ""
    dev = st.device(m.group("dev"))
    dev.kind, dev.model, dev.firmware, dev.max_mode = m.group("kind"), model.strip(), firmware.strip(), max_mode


def _freeze(st: _State, nlines: int) -> DmesgLog:
    controllers = tuple(
        AhciController(
            pci=pci,
            version=c.version,
            slots=c.slots,
            gbps=c.gbps,
            mode=c.mode,
            ports_total=c.ports_total,
            port_map=c.port_map,
            ports_implemented=c.ports_implemented,
            flags=c.flags,
        )
        for pci, c in st.controllers.items()
        if c.version is not None  # a flags line without its banner (grep cut it) is not a controller
    )
    devices = tuple(
        AtaDevice(
            device=name,
            port=name.split(".")[0],
            kind=d.kind,
            model=d.model,
            firmware=d.firmware,
            max_mode=d.max_mode,
            sectors=d.sectors,
            ncq_depth=d.ncq_depth,
            quirks=d.quirks,
        )
        for name, d in st.devices.items()
        if d.model is not None  # sectors or quirks without the identity line: not a device
    )
    legacy_driver = any(drv.startswith(_LEGACY_DRIVERS) for drv in st.drivers)
    legacy_ports = any(p.kind == "PATA" or p.bmdma for p in st.ports)
    legacy = not controllers and (legacy_driver or legacy_ports)
    return DmesgLog(
        controllers=controllers,
        ports=tuple(st.ports),
        links=tuple(st.links),
        devices=devices,
        quirks=tuple(st.quirks),
        ahci_driver_seen=st.ahci_seen,
        legacy_ide=legacy,
        nvme_seen=st.nvme_seen,
        drivers=tuple(st.drivers),
        lines=nlines,
    )
