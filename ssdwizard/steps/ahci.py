"""Step 2, ``ahci``: is the SATA controller in AHCI mode?

The guide says: ``dmesg | grep -i ahci``, and enable AHCI in the BIOS. Still true: in IDE
(legacy) mode the controller hides NCQ and hot-plug from the kernel, and libata cannot send
queued TRIM. The kernel's AHCI banner names the mode (``SATA mode``, or ``RAID mode`` for
Intel RST); where dmesg is restricted, the driver bound in sysfs still tells. NVMe disks talk
PCIe directly and need no AHCI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.dmesg import AhciController
from ssdwizard.parsers.lshw import StorageController, parse_lshw_json
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.machine.identity import ata_place, controller_driver, is_ata
from ssdwizard.machine.inventory import Disk, probe_inventory
from ssdwizard.machine.kernel_log import read_kernel_log

ID = "ahci"
TITLE = "AHCI mode"
LSHW_ARGV = ("lshw", "-json", "-class", "storage")
AHCI_DRIVER_DIR = "/sys/bus/pci/drivers/ahci"
# Drivers that run a SATA controller through the old IDE register interface.
LEGACY_DRIVERS = ("ata_piix", "ata_generic", "pata_", "ide")


@dataclass(frozen=True)
class ControllerView:
    """One SATA controller, from whichever sources answered."""

    pci: str | None
    driver: str | None
    banner: AhciController | None
    product: str | None
    disks: tuple[str, ...]

    @property
    def mode(self) -> str | None:
        if self.banner is not None and self.banner.mode in ("SATA", "RAID", "IDE"):
            return self.banner.mode
        if self.driver and self.driver.startswith(LEGACY_DRIVERS):
            return "IDE"
        return "SATA" if self.driver == "ahci" else None

    def facts(self) -> dict[str, Any]:
        banner = self.banner
        return {
            "pci": self.pci,
            "mode": self.mode,
            "gbps": banner.gbps if banner else None,
            "ports": banner.ports_total if banner else None,
            "slots": banner.slots if banner else None,
            "flags": list(banner.flags) if banner else [],
        }


def _lshw_controllers(ctx: ProbeContext) -> dict[str, StorageController]:
    result = ctx.run(LSHW_ARGV)
    if not result.ok:
        return {}
    try:
        return {c.pci: c for c in parse_lshw_json(result.stdout).controllers if c.pci}
    except ParseError:
        return {}


def _controllers(ctx: ProbeContext, sata_disks: tuple[Disk, ...]) -> list[ControllerView]:
    """The controllers the SATA disks hang on, plus AHCI controllers the log names without disks."""
    kernel = read_kernel_log(ctx)
    banners = {c.pci: c for c in kernel.log.controllers} if kernel.log else {}
    products = _lshw_controllers(ctx)
    by_pci: dict[str | None, dict[str, Any]] = {}
    for disk in sata_disks:
        place = ata_place(ctx, disk)
        pci = place.controller_pci if place else None
        entry = by_pci.setdefault(pci, {"driver": controller_driver(ctx, place) if place else None, "disks": []})
        entry["disks"].append(disk.name)
    for pci in banners:
        by_pci.setdefault(pci, {"driver": "ahci", "disks": []})
    views = []
    for pci, entry in by_pci.items():
        product = products.get(pci) if pci else None
        driver = entry["driver"] or (product.driver if product else None)
        # lshw prints the vendor as the product when its PCI id table lacks the device.
        name = (product.product if product.product != product.vendor else product.description) if product else None
        views.append(ControllerView(pci, driver, banners.get(pci) if pci else None, name, tuple(entry["disks"])))
    return views


def _evidence(ctx: ProbeContext, view: ControllerView) -> tuple[Evidence, ...]:
    found = []
    kernel = read_kernel_log(ctx)
    if view.banner is not None and view.pci:
        found.append(Evidence("dmesg", kernel.lines_with(f"{view.pci}: AHCI", f"{view.pci}: flags:", limit=3)))
    if view.driver:
        found.append(Evidence(f"/sys/bus/pci/devices/{view.pci}/driver", f"-> {view.driver}"))
    return tuple(found)


def _judge(ctx: ProbeContext, view: ControllerView) -> Finding:
    name = view.pci or "controller"
    what = f"{view.product} ({view.pci})" if view.product else name
    on = f" (disks: {', '.join(view.disks)})" if view.disks else ""
    evidence = _evidence(ctx, view)
    if view.mode == "SATA":
        speed = f", {view.banner.gbps:g} Gbps" if view.banner and view.banner.gbps else ""
        ncq = ", NCQ" if view.banner and "ncq" in view.banner.flags else ""
        return Finding(Status.OK, name, f"{what} runs in AHCI mode{speed}{ncq}{on}.", "", evidence)
    if view.mode == "RAID":
        return Finding(
            Status.WARN, name, f"{what} is in RAID mode (Intel RST){on}.",
            "Linux drives it with ahci, but RAID mode can hide NVMe disks behind the controller and adds "
            "firmware between the kernel and the disks. Unless you use the firmware RAID (mdadm IMSM), set "
            "the SATA mode to AHCI in the BIOS/UEFI setup.",
            evidence)
    if view.mode == "IDE":
        return Finding(
            Status.FAIL, name,
            f"{what} runs in IDE (legacy) mode with the {view.driver or 'legacy'} driver{on}: no NCQ, no hot-plug, "
            "and TRIM only as slow non-queued commands.",
            "Set the SATA mode to AHCI in the BIOS/UEFI setup. Debian and Proxmox load ahci from the "
            "initramfs, so the installed system boots in AHCI mode without changes.",
            evidence)
    return Finding(Status.WARN, name, f"The mode of {what} is unknown{on}: no AHCI banner in dmesg and no "
                   "driver link in sysfs.", "Run as root, so that dmesg can be read.", evidence)


def probe(ctx: ProbeContext) -> StepResult:
    inventory = probe_inventory(ctx)
    sata = tuple(d for d in inventory.disks if is_ata(d))
    kernel = read_kernel_log(ctx)
    if not sata:
        kinds = sorted({d.transport or "unknown" for d in inventory.disks})
        why = ("NVMe disks talk PCIe directly: AHCI does not apply" if kinds == ["nvme"]
               else f"no SATA disks here (transports: {', '.join(kinds) or 'none'})")
        return StepResult(ID, TITLE, Status.SKIP, f"Not applicable: {why}.",
                          (Finding(Status.SKIP, "ahci", f"Not applicable: {why}."),),
                          {"driver_loaded": _driver_loaded(ctx), "controllers": []})
    views = _controllers(ctx, sata)
    findings = [_judge(ctx, view) for view in views]
    if kernel.problem:
        findings.append(Finding(Status.OK, "dmesg", f"{kernel.problem[0].upper()}{kernel.problem[1:]}; "
                                "the controller's driver was read from sysfs instead.", ""))
    status = Status.worst([f.status for f in findings])
    modes = sorted({v.mode or "unknown" for v in views if v.disks})
    summary = (f"{len(views)} SATA controller{'s' if len(views) != 1 else ''}: "
               + ", ".join(f"{m} mode" if m != "unknown" else "mode unknown" for m in modes))
    return StepResult(ID, TITLE, status, summary, tuple(findings),
                      {"driver_loaded": _driver_loaded(ctx) or any(v.driver == "ahci" for v in views),
                       "controllers": [v.facts() for v in views]})


def _driver_loaded(ctx: ProbeContext) -> bool | None:
    """Whether the ahci driver is bound to any device (its sysfs directory lists PCI addresses)."""
    kernel = read_kernel_log(ctx)
    if any(":" in name for name in ctx.listdir(AHCI_DRIVER_DIR)):
        return True
    if kernel.log is not None:
        return kernel.log.ahci_present
    return None
