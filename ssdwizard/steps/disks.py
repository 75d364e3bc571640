"""Step 1, ``disks``: which disks this machine has, and which ones the later steps tune.

The guide says: choose the disk by IOPS per price and check its firmware. On a server that is
already built, the first question is what is in it, and whether its firmware or the kernel's
quirk list for its model says something about TRIM.
"""

from __future__ import annotations

from typing import Any

from ssdwizard.knowledge import FirmwareWarning, firmware_warnings_for, quirk_effects
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.machine.identity import DiskIdentity, disk_identities
from ssdwizard.machine.inventory import TRANSPORT_LABELS, Disk, focus_disks, probe_inventory
from ssdwizard.machine.quirks import kernel_quirks
from ssdwizard.machine.sata_link import sata_link

ID = "disks"
TITLE = "Disks"


def disk_facts(disk: Disk, identity: DiskIdentity | None, link_gbps: float | None,
               quirks: tuple[str, ...] | None, warnings: list[FirmwareWarning]) -> dict[str, Any]:
    """A disk as DESIGN §3.2 lists it. TRIM: the disk's own word first, the block layer's after."""
    own_trim = identity.trim_supported if identity else None
    return {
        "name": disk.name,
        "path": disk.path,
        "model": identity.model if identity else disk.model,
        "serial": disk.serial or (identity.smartctl.serial_number if identity and identity.smartctl else None),
        "firmware": identity.firmware if identity else disk.firmware,
        "size_bytes": disk.size_bytes,
        "transport": disk.transport,
        "rotational": disk.rotational,
        "ssd": disk.ssd,
        "trim_supported": own_trim if own_trim is not None else disk.trim_supported,
        "sata_max_gbps": identity.sata_max_gbps if identity else None,
        "sata_link_gbps": link_gbps,
        "scheduler": disk.scheduler,
        "schedulers": list(disk.schedulers),
        "quirks": None if quirks is None else list(quirks),
        "firmware_warnings": [w.warning for w in warnings],
        # Filled by the opt-in IOPS measurement (--iops, the wizard's disk choice); probing never measures.
        "iops": None,
    }


def _describe(disk: Disk, identity: DiskIdentity | None) -> str:
    transport = TRANSPORT_LABELS.get(disk.transport or "", disk.transport or "transport unknown")
    model = (identity.model if identity else None) or disk.model or "model unknown"
    parts = [model, transport, disk.kind, disk.size_text]
    firmware = (identity.firmware if identity else None) or disk.firmware
    if firmware:
        parts.append(f"firmware {firmware}")
    return ", ".join(parts)


def _misdetection(disk: Disk) -> Finding | None:
    """rotational=1 where the medium is flash or not knowable: the kernel then treats the disk
    as spinning (scheduler defaults, no SSD-aware tuning in tools)."""
    if disk.rotational is not True:
        return None
    if disk.virtual:
        return Finding(
            Status.WARN, disk.name,
            f"rotational=1 on a virtual ({disk.transport}) disk: the guest cannot see the host's medium, "
            "so the kernel assumes a spinning disk.",
            "If the host stores this disk on flash, say so to the guest: in Proxmox tick 'SSD emulation' "
            "(ssd=1) on a SCSI disk (virtio-scsi; virtio-blk has no such flag), or set queue/rotational "
            "to 0 with a udev rule (the scheduler step offers one).",
            (disk.evidence,),
        )
    if disk.ssd:
        bridge = " USB-SATA bridges often report every disk as rotating." if disk.transport == "usb" else ""
        return Finding(
            Status.WARN, disk.name,
            f"rotational=1 on a disk whose model looks like flash ({disk.model}).{bridge}",
            "Set queue/rotational to 0 with a udev rule so that the kernel and tools treat it as an SSD "
            "(the scheduler step offers one).",
            (disk.evidence,),
        )
    return None


def probe(ctx: ProbeContext) -> StepResult:
    inventory = probe_inventory(ctx)
    findings: list[Finding] = list(inventory.notes)
    if not inventory.disks:
        return StepResult(
            ID, TITLE, Status.SKIP,
            "No disks visible: lsblk shows none and /sys/block has none (a container?).",
            tuple(findings), {"disks": []},
        )
    identities = disk_identities(ctx, inventory.disks)
    facts = []
    for disk in inventory.disks:
        identity = identities.get(disk.name)
        link = sata_link(ctx, disk, identity)
        quirks, quirk_evidence = kernel_quirks(ctx, disk, identity)
        model = identity.model if identity else disk.model
        firmware = identity.firmware if identity else disk.firmware
        warnings = firmware_warnings_for(model, firmware)
        facts.append(disk_facts(disk, identity, link.gbps if link else None, quirks, warnings))
        findings.append(Finding(Status.OK, disk.name, _describe(disk, identity), "",
                                (disk.evidence, *(identity.evidence if identity else ()))))
        flagged = _misdetection(disk)
        if flagged:
            findings.append(flagged)
        for warning in warnings:
            findings.append(Finding(Status.WARN, disk.name, f"Known firmware problem ({model}, firmware {firmware}): "
                                    f"{warning.warning}", warning.advice,
                                    (Evidence("smartmontools drive database / vendor advisory", warning.source),)))
        if quirks:
            findings.append(_quirk_finding(disk, quirks, quirk_evidence))
    findings += _tool_notes(identities)
    focus = focus_disks(ctx)
    # The same words for --disk and for the wizard's disk choice: a probe does not know which.
    how = "your choice" if ctx.chosen_disks is not None else "every SSD and virtual disk"
    if focus:
        findings.append(Finding(Status.OK, "focus", f"The later steps focus on {', '.join(d.name for d in focus)} ({how}).",
                                "Choose others with --disk NAME[,NAME], or in the wizard on the disk choice."))
    else:
        findings.append(Finding(Status.OK, "focus", "No SSD found: the later steps have no disk to tune.",
                                "If a disk is an SSD that the kernel reports as rotating, choose it with --disk NAME."))
    summary = f"{len(inventory.disks)} disk{'s' if len(inventory.disks) != 1 else ''}: {_count_kinds(inventory.disks)}"
    if focus:
        summary += f"; focus: {', '.join(d.name for d in focus)}"
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, summary, tuple(findings), {"disks": facts})


def _quirk_finding(disk: Disk, quirks: tuple[str, ...], evidence: Evidence | None) -> Finding:
    effects = quirk_effects()
    status = Status.WARN if "notrim" in quirks else Status.OK
    meaning = "; ".join(f"{q}: {effects.get(q, 'see the kernel source')}" for q in quirks)
    said = ("The kernel applied libata quirks" if evidence is not None and evidence.source == "dmesg"
            else "The kernel's libata quirk table (v6.18) lists")
    return Finding(status, disk.name, f"{said} for this model: {meaning}.",
                   "Nothing to change: the kernel works around the model's known TRIM behaviour. "
                   "The trim step shows what this means for fstrim and discard." if status is Status.OK else
                   "The kernel never sends TRIM to this model: plan for over-provisioning instead of TRIM.",
                   (evidence,) if evidence else ())


def _tool_notes(identities: dict[str, DiskIdentity]) -> list[Finding]:
    """One note per missing tool or refused query, not one per disk: the fix is the same."""
    seen: dict[str, list[str]] = {}
    for name, identity in identities.items():
        for problem in identity.problems:
            key = problem.replace(f"/dev/{name}", "/dev/…")
            seen.setdefault(key, []).append(name)
    return [Finding(Status.OK, ", ".join(names), problem.replace("/dev/…", f"/dev/{names[0]}") if len(names) == 1
                    else problem, "The facts it would give stay unknown; the other sources still count.")
            for problem, names in seen.items()]


def _count_kinds(disks: tuple[Disk, ...]) -> str:
    kinds: dict[str, int] = {}
    for disk in disks:
        kinds[disk.kind] = kinds.get(disk.kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in kinds.items())
