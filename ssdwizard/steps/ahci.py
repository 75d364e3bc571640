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
    """One SATA controller, from whichever sources answered: always a real PCI device (a disk
    whose controller cannot be told is an :class:`UnplacedDisk`, never a controller)."""

    pci: str
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


@dataclass(frozen=True)
class UnplacedDisk:
    """A SATA disk whose sysfs path leads to no PCI device: a missing link (a recording without
    it), a hypervisor's virtual bus, a platform controller. Its controller is not guessed."""

    name: str
    link: str | None  # where /sys/block/NAME points, None when it is not a link


def _lshw_controllers(ctx: ProbeContext) -> dict[str, StorageController]:
    result = ctx.run(LSHW_ARGV)
    if not result.ok:
        return {}
    try:
        return {c.pci: c for c in parse_lshw_json(result.stdout).controllers if c.pci}
    except ParseError:
        return {}


def _controllers(ctx: ProbeContext, sata_disks: tuple[Disk, ...]) -> tuple[list[ControllerView], list[UnplacedDisk]]:
    """The controllers the SATA disks hang on, plus AHCI controllers the log names without disks;
    and the disks whose controller cannot be told from sysfs."""
    kernel = read_kernel_log(ctx)
    banners = {c.pci: c for c in kernel.log.controllers} if kernel.log else {}
    products = _lshw_controllers(ctx)
    by_pci: dict[str, dict[str, Any]] = {}
    unplaced = []
    for disk in sata_disks:
        place = ata_place(ctx, disk)
        if place is None or place.controller_pci is None:
            unplaced.append(UnplacedDisk(disk.name, ctx.readlink(f"/sys/block/{disk.name}")))
            continue
        entry = by_pci.setdefault(place.controller_pci, {"driver": controller_driver(ctx, place), "disks": []})
        entry["disks"].append(disk.name)
    for pci in banners:
        by_pci.setdefault(pci, {"driver": "ahci", "disks": []})
    views = []
    for pci, entry in by_pci.items():
        product = products.get(pci)
        driver = entry["driver"] or (product.driver if product else None)
        # lshw prints the vendor as the product when its PCI id table lacks the device.
        name = (product.product if product.product != product.vendor else product.description) if product else None
        views.append(ControllerView(pci, driver, banners.get(pci), name, tuple(entry["disks"])))
    return views, unplaced


def _evidence(ctx: ProbeContext, view: ControllerView) -> tuple[Evidence, ...]:
    found = []
    kernel = read_kernel_log(ctx)
    if view.banner is not None:
        found.append(Evidence("dmesg", kernel.lines_with(f"{view.pci}: AHCI", f"{view.pci}: flags:", limit=3)))
    if view.driver:
        found.append(Evidence(f"/sys/bus/pci/devices/{view.pci}/driver", f"-> {view.driver}"))
    return tuple(found)


def _judge(ctx: ProbeContext, view: ControllerView) -> Finding:
    name = view.pci
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


def _judge_unplaced(disk: UnplacedDisk, views: list[ControllerView]) -> Finding:
    """Skip, not fail: nothing is known to be wrong, only this disk's controller is not known."""
    why = "no PCI path in sysfs" if disk.link else "no device link in sysfs"
    known = (f" Nothing here ties it to the SATA controller{'s' if len(views) != 1 else ''} found "
             f"({', '.join(v.pci for v in views)})." if views else "")
    return Finding(
        Status.SKIP, disk.name,
        f"{disk.name}: its controller could not be told ({why}), so its AHCI mode is not judged.{known}",
        f"ls -l /sys/block/{disk.name} shows where the disk hangs; a disk on a SAS HBA, a RAID card "
        "or a hypervisor's virtual bus has no AHCI mode to set.",
        (Evidence(f"/sys/block/{disk.name}", f"-> {disk.link}" if disk.link else "(not a link)"),))


def _summary(views: list[ControllerView], unplaced: list[UnplacedDisk]) -> str:
    # A disk whose controller is unknown may sit on any of them: then every controller's mode counts.
    modes = sorted({v.mode or "unknown" for v in views if v.disks or unplaced})
    counted = (f"{len(views)} SATA controller{'s' if len(views) != 1 else ''}: "
               + ", ".join(f"{m} mode" if m != "unknown" else "mode unknown" for m in modes))
    if not unplaced:
        return counted
    names = ", ".join(d.name for d in unplaced)
    if not views:
        return f"No SATA controller could be told (no PCI path in sysfs for {names})"
    return f"{counted}; the controller of {names} could not be told"


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
    views, unplaced = _controllers(ctx, sata)
    findings = [_judge(ctx, view) for view in views] + [_judge_unplaced(disk, views) for disk in unplaced]
    if kernel.problem:
        findings.append(Finding(Status.OK, "dmesg", f"{kernel.problem[0].upper()}{kernel.problem[1:]}; "
                                "the controller's driver was read from sysfs instead.", ""))
    # Skip and ok rank alike: with no controller to judge, the step itself was skipped.
    status = Status.worst([f.status for f in findings]) if views else Status.SKIP
    return StepResult(ID, TITLE, status, _summary(views, unplaced), tuple(findings),
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
