"""Step 3, ``sata``: does each SATA SSD get the link speed both ends can do?

The guide compares the controller's Gbps (AHCI banner) with the disk's SATA revision
(``hdparm -I`` Transport: SATA Rev 3.0 = 6 Gbps). The third number is the one that counts: the
link the two negotiated (``ataN: SATA link up 3.0 Gbps``, sysfs ``sata_spd``, smartctl
``interface_speed.current``). A link below both ends points at a cable, a port or a limit.
"""

from __future__ import annotations

from typing import Any

from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.machine.identity import DiskIdentity, disk_identities, is_ata
from ssdwizard.machine.inventory import Disk, focus_disks, probe_inventory
from ssdwizard.machine.kernel_log import read_kernel_log
from ssdwizard.machine.sata_link import LinkSpeed, sata_link

ID = "sata"
TITLE = "SATA link speed"


def _controller_gbps(ctx: ProbeContext, link: LinkSpeed | None) -> tuple[float | None, Evidence | None]:
    kernel = read_kernel_log(ctx)
    if link is None or link.controller_pci is None or kernel.log is None:
        return None, None
    banner = next((c for c in kernel.log.controllers if c.pci == link.controller_pci), None)
    if banner is None or banner.gbps is None:
        return None, None
    return banner.gbps, Evidence("dmesg", kernel.lines_with(f"{link.controller_pci}: AHCI", limit=1))


def _speed(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g} Gbps"


def _judge(disk: Disk, controller: float | None, drive: float | None, link: float | None,
           hw_limit: float | None, evidence: tuple[Evidence, ...]) -> Finding:
    numbers = f"controller {_speed(controller)}, disk {_speed(drive)}, link {_speed(link)}"
    if link is None:
        return Finding(Status.WARN, disk.name, f"The negotiated link speed is unknown ({numbers}).",
                       "Run as root: dmesg and smartctl show it; sysfs has it under /sys/class/ata_link.", evidence)
    if controller is None and drive is not None and link < drive:
        return Finding(
            Status.WARN, disk.name,
            f"The link runs at {link:g} Gbps, below the disk's {drive:g} Gbps ({numbers}). The controller's "
            "maximum is unknown (no AHCI banner), so it may itself be the limit.",
            "If the controller is SATA III, check the cable and the port; if it is SATA II (3 Gbps), the disk "
            "is capped there: a SATA III port or HBA gives the SSD its full sequential speed.",
            evidence)
    ends = [v for v in (controller, drive) if v is not None]
    best = min(ends) if ends else None
    if best is not None and link < best:
        limit = (f" The kernel took a {hw_limit:g} Gbps limit from the controller's SControl at boot "
                 "(a BIOS setting or libata.force)." if hw_limit is not None and hw_limit <= link else "")
        return Finding(
            Status.WARN, disk.name,
            f"The link runs at {link:g} Gbps, below what both ends can do ({numbers}).{limit}",
            "Check the SATA cable (a worn or non-SATA-III cable renegotiates down), try another port, and "
            "look for a libata.force=…:3.0G limit on the kernel command line. An SSD on a 3 Gbps link "
            "loses about half its sequential throughput.",
            evidence)
    if controller is not None and drive is not None and controller < drive:
        return Finding(
            Status.WARN, disk.name,
            f"The controller caps the disk: {numbers}.",
            "The disk could go faster on a SATA III (6 Gbps) port; boards with mixed ports often have "
            "them on a different controller or the first port numbers.",
            evidence)
    return Finding(Status.OK, disk.name, f"The link runs at full speed: {numbers}.", "", evidence)


def probe(ctx: ProbeContext) -> StepResult:
    focus = focus_disks(ctx)
    sata = tuple(d for d in focus if is_ata(d))
    if not sata:
        transports = sorted({d.transport or "unknown" for d in probe_inventory(ctx).disks})
        why = ("NVMe disks talk PCIe, not SATA" if transports == ["nvme"]
               else "none of the focus disks is on a SATA link" if focus else "there are no focus disks")
        return StepResult(ID, TITLE, Status.SKIP, f"Not applicable: {why}.",
                          (Finding(Status.SKIP, "sata", f"Not applicable: {why}."),), {"disks": []})
    identities = disk_identities(ctx, sata)
    findings: list[Finding] = []
    facts: list[dict[str, Any]] = []
    for disk in sata:
        identity: DiskIdentity | None = identities.get(disk.name)
        link = sata_link(ctx, disk, identity)
        controller, banner_evidence = _controller_gbps(ctx, link)
        drive = identity.sata_max_gbps if identity else None
        negotiated = link.gbps if link else None
        evidence = tuple(e for e in (banner_evidence, *(link.evidence if link else ()),
                                     *_drive_evidence(identity)) if e is not None)
        findings.append(_judge(disk, controller, drive, negotiated, link.hw_limit_gbps if link else None, evidence))
        facts.append({"name": disk.name, "controller_gbps": controller, "disk_max_gbps": drive,
                      "link_gbps": negotiated})
    status = Status.worst([f.status for f in findings])
    slow = [f.subject for f in findings if f.status is Status.WARN]
    summary = (f"{len(sata)} SATA disk{'s' if len(sata) != 1 else ''}: "
               + (f"{', '.join(slow)} below full speed" if slow else "all at full speed"))
    return StepResult(ID, TITLE, status, summary, tuple(findings), {"disks": facts})


def _drive_evidence(identity: DiskIdentity | None) -> tuple[Evidence, ...]:
    """The lines that give the disk's SATA revision."""
    if identity is None:
        return ()
    wanted = ("Transport", "sata_version", "interface_speed")
    picked = []
    for item in identity.evidence:
        lines = [line for line in item.excerpt.splitlines() if line.startswith(wanted)]
        if lines:
            picked.append(Evidence(item.source, "\n".join(lines)))
    return tuple(picked)
