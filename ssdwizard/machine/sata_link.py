"""The negotiated SATA link speed of a disk, from the best source the machine offers.

sysfs (``/sys/class/ata_link/linkN/sata_spd``) is the kernel's current view; the kernel log's
``ataN: SATA link up 3.0 Gbps`` line is what it negotiated at boot (or at the last reset);
smartctl's ``interface_speed.current`` is the disk's own view. They agree on a healthy link.
"""

from __future__ import annotations

from dataclasses import dataclass

from ssdwizard.parsers.sysfs import parse_link_speed
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence
from ssdwizard.machine.identity import DiskIdentity, ata_place, is_ata
from ssdwizard.machine.inventory import Disk
from ssdwizard.machine.kernel_log import read_kernel_log

@dataclass(frozen=True)
class LinkSpeed:
    gbps: float | None
    #: The limit the kernel took from the controller's SControl at probe time (the BIOS can
    #: set one); None when there is none.
    hw_limit_gbps: float | None
    port: str | None
    controller_pci: str | None
    evidence: tuple[Evidence, ...]


def sata_link(ctx: ProbeContext, disk: Disk, identity: DiskIdentity | None) -> LinkSpeed | None:
    """None for a disk that is not on a SATA link (NVMe, virtio, USB)."""
    if not is_ata(disk):
        return None
    return ctx.once(("sata-link", disk.name), lambda: _link(ctx, disk, identity))


def _link(ctx: ProbeContext, disk: Disk, identity: DiskIdentity | None) -> LinkSpeed:
    place = ata_place(ctx, disk)
    evidence: list[Evidence] = []
    gbps = hw_limit = None
    if place:
        spd_path = f"/sys/class/ata_link/{place.link}/sata_spd"
        spd = ctx.read_value(spd_path)
        gbps = parse_link_speed(spd)
        if spd is not None:
            evidence.append(Evidence(spd_path, spd))
        limit_path = f"/sys/class/ata_link/{place.link}/hw_sata_spd_limit"
        limit = ctx.read_value(limit_path)
        hw_limit = parse_link_speed(limit)
        if hw_limit is not None:
            evidence.append(Evidence(limit_path, limit or ""))
        kernel = read_kernel_log(ctx)
        # ata_piix in IDE mode reports the link of its master device ("ata1.00: SATA link up").
        link = (kernel.log.link(place.port) or kernel.log.link(f"{place.port}.00")) if kernel.log else None
        if link is not None:
            evidence.append(Evidence("dmesg", kernel.lines_with(f"{link.port}: SATA link", limit=2)))
            if gbps is None:
                gbps = link.gbps
    if gbps is None and identity is not None and identity.link_gbps_from_smartctl is not None:
        gbps = identity.link_gbps_from_smartctl
        evidence.append(Evidence(f"smartctl --json -x {disk.path}", f"interface_speed.current: {gbps:g} Gb/s"))
    return LinkSpeed(gbps, hw_limit, place.port if place else None, place.controller_pci if place else None,
                     tuple(evidence))
