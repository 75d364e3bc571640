"""Step 7, ``scheduler``: is each SSD seen as an SSD, and does it use the right I/O scheduler?

The guide says: rotational must be 0, and use the ``deadline`` scheduler. Since Linux 5.0 only
the blk-mq schedulers exist (none, mq-deadline, bfq, kyber): ``none`` suits NVMe and virtual
disks, ``mq-deadline`` a SATA/SAS SSD. The choice is made per disk from ``schedulers.toml``; a
write to ``queue/scheduler`` works at once but is lost at reboot, so the fix is a udev rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ssdwizard.apply.plan import FILE_PLACEHOLDER, FileEdit, Plan, SysfsWrite
from ssdwizard.data import load_table
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.sysfs import SchedulerChoice, parse_scheduler
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.machine.inventory import SYS_BLOCK, TRANSPORT_LABELS, Disk, focus_disks

ID = "scheduler"
TITLE = "I/O scheduler"

# Names of the legacy single-queue block layer, removed in Linux 5.0 (cfq, deadline, noop;
# anticipatory went in 2.6.33). A scheduler list holding any of them is a pre-5.0 kernel.
_LEGACY = frozenset({"noop", "deadline", "cfq", "anticipatory"})
_TABLE = "ssdwizard/data/schedulers.toml"
UDEV_RULES = "/etc/udev/rules.d/60-ssdwizard-scheduler.rules"
_KERNEL_MATCHES = (("nvme", "nvme[0-9]*n[0-9]*"), ("sd", "sd[a-z]*"), ("vd", "vd[a-z]*"), ("xvd", "xvd[a-z]*"),
                   ("mmcblk", "mmcblk[0-9]*"))


# ---- what the planner reads ------------------------------------------------------------------------

@dataclass(frozen=True)
class ObservedDisk:
    """One focus disk as the planner sees it: queue/rotational, the scheduler it runs and those
    the kernel offers (as queue/scheduler names them), and the one schedulers.toml recommends."""

    name: str
    rotational: bool | None
    scheduler: str | None
    available: tuple[str, ...]
    recommended: str


@dataclass(frozen=True)
class Observed:
    """What :func:`plan` reads, and all it reads: the focus disks and the text of
    :data:`UDEV_RULES` (None when there is no such file)."""

    disks: tuple[ObservedDisk, ...]
    rules_text: str | None


# ---- the probe ----------------------------------------------------------------------------------

def probe(ctx: ProbeContext) -> StepResult:
    disks = focus_disks(ctx)
    if not disks:
        return StepResult(ID, TITLE, Status.SKIP, "No SSD to check: choose a disk with --disk NAME.", (),
                          {"disks": []})
    findings: list[Finding] = []
    rows: list[ObservedDisk] = []
    for disk in disks:
        queue = read_queue(ctx, disk)
        rec = recommend(disk)
        flagged = _rotational_finding(disk, queue)
        if flagged is not None:
            findings.append(flagged)
        findings.append(_scheduler_finding(disk, queue, rec))
        if not rec.from_table:
            findings.append(Finding(Status.OK, disk.name, f"{_TABLE} has no row for transport "
                                    f"{disk.transport or 'unknown'} ({disk.kind}); the kernel's own rule for a "
                                    f"single-queue device was used: {rec.scheduler}.", "",
                                    (Evidence(_TABLE, f"no [[scheduler]] row for {disk.transport}"),)))
        rows.append(ObservedDisk(disk.name, queue.rotational, queue.choice.current if queue.choice else None,
                                 queue.choice.available if queue.choice else (), rec.scheduler))
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, _summary(rows), tuple(findings), {"disks": [_disk_fact(row) for row in rows]},
                      observed=Observed(tuple(rows), ctx.read_text(UDEV_RULES)))


# ---- the scheduler table and the disk's queue: what the probe reads ------------------------------

@cache
def _aliases() -> dict[str, str]:
    # `deadline` is the kernel's own alias of mq-deadline (elevator_alias in mq-deadline.c):
    # writing it selects mq-deadline, so a guide that says "deadline" is still right today.
    # `noop` has no blk-mq namesake but `none` is what it did; `cfq`'s successor is bfq.
    return {row["name"]: row["means"] for row in load_table("schedulers").get("alias", ())}


def blk_mq_name(name: str | None) -> str | None:
    """The blk-mq name for a scheduler name from any kernel or guide (deadline → mq-deadline)."""
    if name is None:
        return None
    return _aliases().get(name, name)


@dataclass(frozen=True)
class Recommendation:
    scheduler: str
    also_fine: tuple[str, ...]
    why: str
    from_table: bool


def _medium(disk: Disk) -> str | None:
    if disk.ssd is True:
        return "ssd"
    if disk.ssd is False:
        return "hdd"
    return None


def recommend(disk: Disk) -> Recommendation:
    """The row of schedulers.toml for the disk's transport and medium; the first match wins,
    rows for one transport before the ``*`` rows."""
    rows = load_table("schedulers").get("scheduler", ())
    medium = _medium(disk)
    transport = disk.transport
    for wanted_transport in (transport, "*"):
        for row in rows:
            if row["transport"] != wanted_transport:
                continue
            if row["medium"] != "*" and row["medium"] != medium:
                continue
            return Recommendation(row["recommended"], tuple(row.get("also_fine", ())), row.get("why", ""), True)
    # No row (mmc, scsi, PATA, unknown transport): the kernel's own rule for a single-queue
    # device, which all of these are. A multi-queue device of an unknown kind would get none.
    return Recommendation("mq-deadline", ("none",), "a single-queue device: mq-deadline keeps reads from "
                          "starving behind writes", False)


@dataclass(frozen=True)
class QueueState:
    rotational: bool | None
    choice: SchedulerChoice | None
    evidence: tuple[Evidence, ...]


def read_queue(ctx: ProbeContext, disk: Disk) -> QueueState:
    """queue/rotational and queue/scheduler from sysfs; lsblk's ROTA/SCHED where sysfs is silent."""
    evidence: list[Evidence] = []
    rot_path = f"{SYS_BLOCK}/{disk.name}/queue/rotational"
    rot_text = ctx.read_value(rot_path)
    rotational = disk.rotational
    if rot_text in ("0", "1"):
        rotational = rot_text == "1"
        evidence.append(Evidence(rot_path, rot_text))
    sched_path = f"{SYS_BLOCK}/{disk.name}/queue/scheduler"
    sched_text = ctx.read_value(sched_path)
    choice: SchedulerChoice | None = None
    if sched_text is not None:
        evidence.append(Evidence(sched_path, sched_text))
        try:
            choice = parse_scheduler(sched_text)
        except ParseError:
            choice = None
    if choice is None and disk.block is not None and disk.block.scheduler:
        choice = SchedulerChoice(disk.block.scheduler, ())
    if (rot_text is None or sched_text is None) and disk.block is not None:
        evidence.append(disk.evidence)
    return QueueState(rotational, choice, tuple(evidence))


# ---- findings, facts and summary: what the report says ----------------------------------------

def _udev_rule(disk: Disk, scheduler: str) -> str:
    return (f'ACTION=="add|change", KERNEL=="{disk.name}", ATTR{{queue/scheduler}}="{scheduler}"')


def _persist_advice(disk: Disk, scheduler: str) -> str:
    return (f"`echo {scheduler} > /sys/block/{disk.name}/queue/scheduler` switches at once but is lost at "
            f"reboot; persist it with a udev rule in /etc/udev/rules.d/60-ssdwizard-scheduler.rules: "
            f"`{_udev_rule(disk, scheduler)}`.")


def _legacy(choice: SchedulerChoice) -> bool:
    return bool(_LEGACY.intersection(choice.available)) and "mq-deadline" not in choice.available


def _scheduler_finding(disk: Disk, queue: QueueState, rec: Recommendation) -> Finding:
    choice = queue.choice
    evidence = queue.evidence
    want = rec.scheduler
    if choice is None or choice.current is None:
        return Finding(Status.WARN, disk.name, "The disk's I/O scheduler could not be read "
                       f"({SYS_BLOCK}/{disk.name}/queue/scheduler is missing).",
                       f"Recommended for this disk: {want}.", evidence)
    current = choice.current
    if _legacy(choice):
        legacy_want = "deadline" if want == "mq-deadline" else "noop" if want == "none" else want
        ok = current == legacy_want or blk_mq_name(current) == want
        message = (f"Legacy single-queue block layer (kernel before 5.0): scheduler {current} of "
                   f"{' '.join(choice.available)}; for this disk {legacy_want} here, {want} on a current kernel.")
        advice = ("cfq, deadline and noop were removed with the single-queue block layer in Linux 5.0; "
                  "their blk-mq successors are bfq, mq-deadline and none. Upgrade the kernel (this one is "
                  "out of support); until then ")
        advice += "keep it." if ok else f"select {legacy_want}: " + _persist_advice(disk, legacy_want)
        return Finding(Status.OK if ok else Status.WARN, disk.name, message, advice, evidence)
    if blk_mq_name(current) == want:
        alias = f" ({current} is the kernel's alias of {want})" if current != want else ""
        where = f" on {TRANSPORT_LABELS.get(disk.transport, disk.transport)}" if disk.transport else ""
        return Finding(Status.OK, disk.name, f"Scheduler {current}{alias}: right for this {disk.kind}{where}.",
                       "", evidence)
    available = [blk_mq_name(name) for name in choice.available]
    why = f" ({rec.why})" if rec.why else ""
    if want not in available:
        how = (f"`modprobe {want}` loads it (add `{want}` to /etc/modules-load.d/ssdwizard.conf so it is there "
               "at boot); if modprobe finds no such module, this kernel was built without it"
               if want != "none" else "this device cannot run without a scheduler")
        return Finding(Status.WARN, disk.name, f"Scheduler {current}; {want} is recommended{why} but this "
                       f"kernel does not offer it (available: {' '.join(choice.available)}).",
                       how + ". Then: " + _persist_advice(disk, want), evidence)
    status = Status.OK if current in rec.also_fine else Status.WARN
    fine = " (also fine)" if status is Status.OK else ""
    return Finding(status, disk.name, f"Scheduler {current}{fine}; {want} is recommended for this disk{why}.",
                   _persist_advice(disk, want), evidence)


def _rotational_finding(disk: Disk, queue: QueueState) -> Finding | None:
    """rotational=1 on a disk we tune as flash: the kernel and tools treat it as spinning."""
    if queue.rotational is not True or disk.ssd is False:
        return None
    first = ""
    if disk.virtual:
        cause = f"a virtual ({disk.transport}) disk: the guest cannot see the host's medium"
        first = ("In Proxmox VE tick 'SSD emulation' (ssd=1) on a SCSI disk (virtio-blk has no such flag), "
                 "or ")
    elif disk.transport == "usb":
        cause = "a USB bridge, which often reports every disk as rotating"
    else:
        cause = "misdetection (a bridge, RAID controller or virtual disk in between)"
    rule = f'ACTION=="add|change", KERNEL=="{disk.name}", ATTR{{queue/rotational}}="0"'
    advice = f"{first}set it to 0 with a udev rule: `{rule}` (a sysfs write is lost at reboot)."
    return Finding(Status.WARN, disk.name, f"queue/rotational is 1 on this {disk.kind}: {cause}.",
                   advice[0].upper() + advice[1:], queue.evidence)


def _disk_fact(row: ObservedDisk) -> dict[str, Any]:
    return {
        "name": row.name,
        "rotational": row.rotational,
        "scheduler": row.scheduler,
        "available": list(row.available),
        "recommended": row.recommended,
    }


def _summary(rows: Sequence[ObservedDisk]) -> str:
    right = [row.name for row in rows if blk_mq_name(row.scheduler) == row.recommended]
    wrong = [f"{row.name} {row.scheduler}→{row.recommended}" for row in rows if row.name not in right]
    return "; ".join(p for p in (f"right scheduler on {', '.join(right)}" if right else "",
                                 f"change {', '.join(wrong)}" if wrong else "") if p)


# ---- the plan -------------------------------------------------------------------------------------

def _kernel_match(name: str) -> str | None:
    """The udev KERNEL glob for a disk's family; rules match families, not names, because
    names move when disks are added."""
    return next((glob for prefix, glob in _KERNEL_MATCHES if name.startswith(prefix)), None)


def udev_rules(disks: Sequence[ObservedDisk]) -> str:
    """The rules file that keeps each focus disk family on its recommended scheduler across
    reboots. Whole disks only (DEVTYPE=="disk"); SATA/SAS families split on queue/rotational so
    that an HDD on the same controller keeps its own scheduler."""
    lines = ["# Written by ssdwizard (the I/O scheduler step): the blk-mq scheduler for each disk family.",
             "# A sysfs write is lost at reboot; these rules apply it whenever a disk appears.",
             "# Remove this file (or run ssdwizard --undo) to go back to the kernel's defaults."]
    seen: set[tuple[str, str]] = set()
    for disk in disks:
        glob = _kernel_match(disk.name)
        if glob is None or not disk.recommended:
            continue
        rotational = "1" if disk.rotational else "0"
        key = (glob, rotational if glob == "sd[a-z]*" else "")
        if key in seen:
            continue
        seen.add(key)
        match = f'ACTION=="add|change", SUBSYSTEM=="block", ENV{{DEVTYPE}}=="disk", KERNEL=="{glob}"'
        if key[1]:
            match += f', ATTR{{queue/rotational}}=="{key[1]}"'
        lines.append(f'{match}, ATTR{{queue/scheduler}}="{disk.recommended}"')
    return "\n".join(lines) + "\n" if len(lines) > 3 else ""


def plan(result: StepResult, choices: Mapping[str, str]) -> Plan | None:
    """Switch each focus disk to its recommended scheduler now (sysfs) and for good (a udev rule).
    Reads only ``result.observed``."""
    observed = result.observed
    if observed is None:  # skipped, or the probe broke: nothing was read to plan from
        return None
    if not isinstance(observed, Observed):
        raise TypeError(f"the scheduler plan reads a scheduler.Observed, not {type(observed).__name__}")
    writes = tuple(
        SysfsWrite(f"{SYS_BLOCK}/{d.name}/queue/scheduler", d.scheduler, d.recommended,
                   f"{d.name}: {d.scheduler} → {d.recommended}")
        for d in observed.disks
        if d.scheduler and d.recommended and blk_mq_name(d.scheduler) != d.recommended
        and d.recommended in d.available
    )
    current = observed.rules_text
    wanted = udev_rules(observed.disks)
    changes: list[SysfsWrite | FileEdit] = list(writes)
    if wanted and (writes or current is not None) and current != wanted:
        changes.append(FileEdit(
            UDEV_RULES, current or "", wanted, "keep the schedulers after a reboot",
            validate=("udevadm", "verify", FILE_PLACEHOLDER), validate_optional=True,
            then=(("udevadm", "control", "--reload"),
                  ("udevadm", "trigger", "--subsystem-match=block", "--action=change"))))
    if not changes:
        return None
    return Plan(ID, tuple(changes), notes=("The sysfs write takes effect at once; the udev rule applies it again at "
                                          "every boot and whenever a disk is added.",))

