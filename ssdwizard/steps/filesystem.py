"""Step 5, ``filesystem``: is each filesystem on an SSD a flash-friendly type?

The guide says: use ext4, f2fs, btrfs or xfs. Today that still holds; what an old server
still carries is ext3 (or ext2), which a current kernel mounts with the ext4 driver but without
extents or delayed allocation, so it writes more metadata than it needs to. The verdicts and
advice per type live in ``data/filesystems.toml``.
"""

from __future__ import annotations

from typing import Any

from ssdwizard.data import load_table
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.machine.placement import PlacedMount, Placement, StackedDevice, probe_placement

ID = "filesystem"
TITLE = "Filesystem"

# Signatures of devices on an SSD that hold data but are never mounted as a filesystem.
_UNMOUNTED_USERS = {
    "zfs_member": "a ZFS pool member: its datasets are mounted by pool name, not by this device; "
                  "set 'zpool set autotrim=on POOL' or trim the pool periodically",
    "ceph_bluestore": "a Ceph BlueStore OSD: it manages the raw device itself (no filesystem, no mount options); "
                      "discard is BlueStore's bdev_enable_discard / bdev_async_discard setting",
}


def filesystem_row(fstype: str | None) -> dict[str, Any] | None:
    """The filesystems.toml row for a type as mountinfo names it; None when the table lacks it."""
    if not fstype:
        return None
    return next((row for row in load_table("filesystems")["filesystem"] if row["fstype"] == fstype), None)


def mount_facts(mount: PlacedMount) -> dict[str, Any]:
    row = filesystem_row(mount.fstype)
    return {"target": mount.target, "source": mount.source, "fstype": mount.fstype, "disk": mount.disk,
            "flash_friendly": row["flash_friendly"] if row else None}


def _grouped(mounts: tuple[PlacedMount, ...]) -> list[list[PlacedMount]]:
    """Mounts by filesystem, in mountinfo order: bind mounts and btrfs subvolumes of one
    filesystem get one verdict, not one per mount point."""
    groups: dict[str, list[PlacedMount]] = {}
    for mount in mounts:
        groups.setdefault(mount.filesystem_key, []).append(mount)
    return list(groups.values())


def _judge(group: list[PlacedMount]) -> Finding:
    first = group[0]
    also = f" (also mounted at {', '.join(m.target for m in group[1:])})" if group[1:] else ""
    on = f"{first.source} on {first.disk}{also}"
    evidence = tuple(m.evidence for m in group)
    row = filesystem_row(first.fstype)
    if row is None:
        return Finding(Status.WARN, first.target,
                       f"{first.fstype or 'An unknown type'} on {on} is a type this wizard has no verdict for.",
                       "Check that it supports TRIM (fstrim -v on the mount point) and is meant for SSDs; "
                       "ext4, xfs, btrfs and f2fs are the safe choices.", evidence)
    if row["flash_friendly"]:
        return Finding(Status.OK, first.target, f"{first.fstype} on {on}: {row['note']}.",
                       row["advice"], evidence)
    return Finding(Status.WARN, first.target,
                   f"{first.fstype} on {on} is not a good filesystem for an SSD: {row['note']}.",
                   row["advice"], evidence)


def _swap_finding(swaps: tuple[StackedDevice, ...]) -> Finding | None:
    if not swaps:
        return None
    names = ", ".join(f"{s.path} on {','.join(s.disks)}" for s in swaps)
    row = filesystem_row("swap")
    return Finding(Status.OK, "swap", f"Swap on {names}: not a filesystem, nothing to judge here.",
                   row["advice"] if row else "", tuple(Evidence("lsblk --json --bytes --output-all" if s.block
                                                                else "/proc/swaps", f"{s.path}: swap, active")
                                                       for s in swaps))


def _unmounted_users(placement: Placement) -> list[Finding]:
    findings = []
    for device in placement.devices:
        what = _UNMOUNTED_USERS.get(device.fstype or "")
        if what:
            findings.append(Finding(Status.OK, ",".join(device.disks), f"{device.path} on {','.join(device.disks)} is {what}.",
                                    "", (Evidence("lsblk --json --bytes --output-all", f"{device.name}: fstype {device.fstype}"),)))
    return findings


def probe(ctx: ProbeContext) -> StepResult:
    placement = probe_placement(ctx)
    findings: list[Finding] = list(placement.notes)
    facts = {"mounts": [mount_facts(m) for m in placement.mounts]}
    for mount in placement.swaps:
        facts["mounts"].append({"target": "[SWAP]", "source": mount.path, "fstype": "swap",
                                "disk": ",".join(mount.disks), "flash_friendly": None})
    if not placement.disks:
        return StepResult(ID, TITLE, Status.SKIP, "No SSD in focus: no filesystem to judge.", tuple(findings), facts)
    names = ", ".join(d.name for d in placement.disks)
    findings += [_judge(group) for group in _grouped(placement.mounts)]
    swap = _swap_finding(placement.swaps)
    if swap:
        findings.append(swap)
    findings += _unmounted_users(placement)
    if not placement.mounts:
        why = "nothing on them is mounted" if placement.mountinfo is not None or any(
            d.block for d in placement.devices) else "the live mounts could not be read"
        return StepResult(ID, TITLE, Status.SKIP, f"No filesystem to judge on {names}: {why}.", tuple(findings), facts)
    groups = _grouped(placement.mounts)
    poor = [g[0] for g in groups if (filesystem_row(g[0].fstype) or {}).get("flash_friendly") is not True]
    summary = f"{len(groups)} filesystem{'s' if len(groups) != 1 else ''} on {names}"
    summary += f"; to look at: {', '.join(f'{m.target} ({m.fstype})' for m in poor)}" if poor else ", all flash-friendly"
    return StepResult(ID, TITLE, Status.worst([f.status for f in findings]), summary, tuple(findings), facts)
