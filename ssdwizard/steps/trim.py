"""Step 4, ``trim``: can the SSD be told which blocks are free, and is it told?

The guide checks ``hdparm -I`` for "TRIM supported" and runs ``fstrim -v /``. That answers
only half of it: the disk's own word says it *can* TRIM, the block layer's discard limits say
whether Linux *uses* it, and every layer stacked on the disk (partition, dm-crypt, LVM, md)
must pass discards down, or ``fstrim`` on the filesystem reaches nothing. Today's advice is a
weekly ``fstrim.timer`` rather than the ``discard`` mount option (DESIGN §1 row 4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssdwizard.apply.plan import CommandRun, Plan, StateCheck
from ssdwizard.machine.block_stack import Node, kind_word, walk_down
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.identity import DiskIdentity, disk_identities
from ssdwizard.machine.inventory import LSBLK_ARGV, SYS_BLOCK, Disk, focus_disks
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.lsblk import BlockDevice
from ssdwizard.parsers.sysfs import parse_int
from ssdwizard.parsers.systemctl import UnitFileState
from ssdwizard.machine.quirks import kernel_quirks
from ssdwizard.machine.units import UnitState, is_enabled_argv, unit_state

ID = "trim"
TITLE = "TRIM"

FSTRIM_TIMER_ARGV = is_enabled_argv("fstrim.timer")
_ENABLE = ("systemctl", "enable", "--now", "fstrim.timer")
_DISABLE = ("systemctl", "disable", "--now", "fstrim.timer")
_LSBLK = " ".join(LSBLK_ARGV)

# What an HDD-less admin most needs to hear when TRIM is missing: the cost, not the acronym.
_WHY_TRIM = ("Without TRIM the SSD never learns which blocks the filesystem has freed: as it fills, "
             "garbage collection copies stale data around, so writes slow down and the flash wears "
             "faster.")
_FSTRIM_ADVICE = ("Enable the weekly timer: `systemctl enable --now fstrim.timer`. A weekly fstrim is "
                  "preferred over the `discard` mount option, which sends a TRIM with every delete and "
                  "stalls I/O on disks without queued TRIM.")

# How to let discards through a layer, by lsblk's TYPE (block_stack reads sysfs into the same words).
_LAYER_ADVICE = {
    "crypt": ("Open it with discards allowed: add `discard` to its options in /etc/crypttab (then "
              "`update-initramfs -u` if it holds the root filesystem), or, for LUKS2, once: "
              "`cryptsetup refresh --allow-discards --persistent {name}`. The known trade-off: an "
              "observer of the raw disk can see which blocks are free."),
    "lvm": ("LVM passes discards from the layer below; a thin pool created with `discards=ignore` "
            "stops them: `lvchange --discards passdown VG/POOL`."),
    "raid": ("md RAID0/1/10 pass discards; RAID4/5/6 only with the raid456 module parameter "
             "`devices_handle_discard_safely=Y`, which is safe only if every member returns zeroes "
             "after TRIM (RZAT)."),
}

# The libata quirks that change how TRIM reaches the disk, in words (the table's `effect` says
# more and goes in the evidence). zeroaftertrim is told with DRAT/RZAT instead.
_QUIRK_WORDS = {
    "notrim": "the kernel never sends TRIM to this model (notrim)",
    "noncqtrim": "queued TRIM is disabled for this model (noncqtrim): TRIM runs as a non-queued command",
    "maxtrim128m": "TRIM is capped at 128 MiB per command for this model (maxtrim128m)",
}


# ---- what the planner reads ------------------------------------------------------------------------

@dataclass(frozen=True)
class ObservedDisk:
    """One focus disk as the planner sees it. ``trim_supported``: the disk's own word, else
    whether the kernel offers discard for it; ``discard_passthrough``: whether discard gets
    down to it from every layer stacked on it. None: unknown."""

    name: str
    trim_supported: bool | None
    discard_passthrough: bool | None

    @property
    def trim_reaches(self) -> bool:
        """TRIM works end to end: the disk can TRIM and every layer above passes it down."""
        return bool(self.trim_supported and self.discard_passthrough)


@dataclass(frozen=True)
class Observed:
    """What :func:`plan` reads, and all it reads: the focus disks and the fstrim.timer's
    unit file state (None when systemctl's answer could not be parsed)."""

    disks: tuple[ObservedDisk, ...]
    timer_state: UnitFileState | None


# ---- the probe ----------------------------------------------------------------------------------

def probe(ctx: ProbeContext) -> StepResult:
    disks = focus_disks(ctx)
    if not disks:
        return StepResult(ID, TITLE, Status.SKIP, "No SSD to check: choose a disk with --disk NAME.", (),
                          {"disks": [], "fstrim_timer": None, "verified": None})
    identities = disk_identities(ctx, disks)
    findings: list[Finding] = []
    facts: list[dict[str, Any]] = []
    rows: list[ObservedDisk] = []
    for disk in disks:
        identity = identities.get(disk.name)
        block = block_discard(ctx, disk)
        passthrough = passthrough_for(ctx, disk)
        quirks = disk_quirks(ctx, disk, identity)
        findings.append(_capability(disk, identity, block, quirks))
        for extra in (_passthrough_finding(disk, passthrough),
                      _quirk_finding(disk, quirks) if quirks else None,
                      _determinism(disk, identity, quirks) if identity else None):
            if extra is not None:
                findings.append(extra)
        row = _observed_disk(disk, identity, block, passthrough)
        rows.append(row)
        facts.append(_disk_fact(row, identity, block))
    timer = fstrim_timer(ctx)
    findings.append(_timer_finding(timer, any(row.trim_supported for row in rows)))
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, _summary(rows, timer), tuple(findings),
                      {"disks": facts, "fstrim_timer": timer.fact, "verified": None},
                      observed=Observed(tuple(rows), timer.state.state if timer.state else None))


def _observed_disk(disk: Disk, identity: DiskIdentity | None, block: BlockDiscard,
                   passthrough: Passthrough) -> ObservedDisk:
    own = identity.trim_supported if identity else None
    offered = None if block.max_bytes is None else block.max_bytes > 0
    return ObservedDisk(disk.name, own if own is not None else offered, passthrough.reaches)


# ---- the discard path: what the probe reads ----------------------------------------------------

@dataclass(frozen=True)
class Passthrough:
    """Whether discard reaches the disk from everything stacked on it.

    ``reaches`` is None when the stack is unknown (no lsblk tree) or a layer's limit is unknown.
    ``blocked_at`` is the first layer, walking up from the disk, whose DISC-MAX is 0, and
    ``chain`` the devices from the disk up to it.
    """

    reaches: bool | None
    blocked_at: BlockDevice | None = None
    chain: tuple[BlockDevice, ...] = ()

    @property
    def chain_text(self) -> str:
        return " → ".join(d.name for d in self.chain)


def discard_passthrough(root: BlockDevice) -> Passthrough:
    """Walk lsblk's tree from the disk up. The kernel stacks discard limits, so a layer that
    does not pass discards shows DISC-MAX 0, and so does everything above it; the first such
    layer on any path is the one to fix."""
    if root.discard_max_bytes is None:
        return Passthrough(None)
    if root.discard_max_bytes == 0:
        return Passthrough(False, root, (root,))
    unknown = False
    stack: list[tuple[BlockDevice, tuple[BlockDevice, ...]]] = [(root, (root,))]
    while stack:
        device, chain = stack.pop()
        for child in reversed(device.children):
            path = (*chain, child)
            if child.discard_max_bytes == 0:
                return Passthrough(False, child, path)
            if child.discard_max_bytes is None:
                unknown = True
            stack.append((child, path))
    return Passthrough(None if unknown else True)


# ---- libata quirks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QuirkMatch:
    """The libata quirks for a SATA disk and where they came from (the running kernel's log, or
    the bundled snapshot of the kernel's table): the disks step finds them, this step explains
    what they do to TRIM."""

    quirks: tuple[str, ...]
    evidence: Evidence | None

    @property
    def from_kernel_log(self) -> bool:
        return self.evidence is not None and self.evidence.source == "dmesg"


def disk_quirks(ctx: ProbeContext, disk: Disk, identity: DiskIdentity | None) -> QuirkMatch | None:
    quirks, evidence = kernel_quirks(ctx, disk, identity)
    return None if not quirks else QuirkMatch(quirks, evidence)


# ---- the block layer's view --------------------------------------------------------------------

@dataclass(frozen=True)
class BlockDiscard:
    """The kernel's discard limits for the whole disk (DISC-MAX 0 = Linux sends no discards)."""

    max_bytes: int | None
    granularity: int | None
    evidence: Evidence


def _sysfs_number(ctx: ProbeContext, path: str) -> tuple[int | None, str | None]:
    text = ctx.read_value(path)
    if text is None:
        return None, None
    try:
        return parse_int(text, path), text
    except ParseError:
        return None, text


def block_discard(ctx: ProbeContext, disk: Disk) -> BlockDiscard:
    if disk.block is not None and disk.block.discard_max_bytes is not None:
        raw = disk.block.raw
        excerpt = json.dumps({k: raw[k] for k in ("name", "disc-gran", "disc-max", "disc-zero") if k in raw})
        return BlockDiscard(disk.block.discard_max_bytes, disk.block.discard_granularity, Evidence(_LSBLK, excerpt))
    max_path = f"{SYS_BLOCK}/{disk.name}/queue/discard_max_bytes"
    gran_path = f"{SYS_BLOCK}/{disk.name}/queue/discard_granularity"
    max_bytes, max_text = _sysfs_number(ctx, max_path)
    granularity, gran_text = _sysfs_number(ctx, gran_path)
    lines = [f"{p}: {t}" for p, t in ((max_path, max_text), (gran_path, gran_text)) if t is not None]
    return BlockDiscard(max_bytes, granularity, Evidence(max_path, "\n".join(lines) or "(not present)"))


def _as_block_device(node: Node) -> BlockDevice:
    """A stack known from sysfs only, in lsblk's shape so that one verdict serves both."""
    layer = node.layer
    return BlockDevice(name=layer.label, kname=layer.kname, path=None, type=layer.kind, size_bytes=None, model=None,
                       serial=None, revision=None, vendor=None, transport=None, subsystems=None, rotational=None,
                       removable=None, scheduler=None, discard_granularity=None,
                       discard_max_bytes=layer.discard_max_bytes, discard_zeroes=None, fstype=None, mountpoints=(),
                       children=tuple(_as_block_device(n) for n in node.above), raw={})


def passthrough_for(ctx: ProbeContext, disk: Disk) -> Passthrough:
    """Whether discard reaches the disk through lsblk's tree of it or, without lsblk, through
    sysfs's (its partitions and holders, each with its queue/discard_max_bytes)."""
    if disk.block is not None:
        return discard_passthrough(disk.block)
    return discard_passthrough(_as_block_device(walk_down(ctx, disk.name)))


# ---- fstrim.timer --------------------------------------------------------------------------------

#: The fstrim.timer's unit file state (the same reading as any unit's: machine/units.py).
TimerState = UnitState


def fstrim_timer(ctx: ProbeContext) -> TimerState:
    return unit_state(ctx, "fstrim.timer")


# ---- findings, facts and summary: what the report says ----------------------------------------

def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _capability(disk: Disk, identity: DiskIdentity | None, block: BlockDiscard,
                quirks: QuirkMatch | None) -> Finding:
    own = identity.trim_supported if identity else None
    offered = None if block.max_bytes is None else block.max_bytes > 0
    evidence = (block.evidence, *(identity.evidence if identity else ()))
    own_word = "NVMe Dataset Management (Deallocate)" if disk.transport == "nvme" else "TRIM"
    if offered:
        said = f"; the disk itself reports {own_word}" if own else ""
        return Finding(Status.OK, disk.name, f"TRIM supported: the kernel sends discards of up to "
                       f"{block.max_bytes} bytes (granularity {block.granularity}){said}.", "", evidence)
    if disk.ssd is False:
        return Finding(Status.OK, disk.name, "A spinning disk without TRIM: nothing to tune here.", "", evidence)
    if disk.virtual and offered is False:
        return Finding(Status.WARN, disk.name, f"This virtual ({disk.transport}) disk offers no discard: "
                       "the hypervisor does not pass TRIM from this guest to the host. " + _WHY_TRIM,
                       "In Proxmox VE tick 'Discard' on the VM's disk (`qm set VMID --scsi0 "
                       "STORAGE:DISK,discard=on`), then stop and start the VM; with thin storage (LVM-thin, "
                       "ZFS, Ceph) the host then frees the space too.", evidence)
    if own and offered is False:
        if quirks is not None and "notrim" in quirks.quirks:
            why = "the kernel's libata quirk list disables TRIM for this model and firmware (notrim)"
            advice = ("This is deliberate: the model is known to misbehave with TRIM. Leave 10-20 % of the "
                      "disk unpartitioned so that its controller has spare blocks.")
        elif disk.transport == "usb":
            why = "the USB bridge does not pass UNMAP to the disk"
            advice = ("If the bridge supports UNMAP, set the SCSI disk's provisioning_mode to `unmap` with a "
                      "udev rule; many USB-SATA bridges do not support it at all.")
        else:
            why = "a controller or driver between them does not pass it (RAID controller, USB bridge, quirk)"
            advice = "Connect the SSD to a plain AHCI/HBA port, or check the controller's pass-through mode."
        return Finding(Status.WARN, disk.name, f"The disk reports {own_word}, but the kernel sends it no "
                       f"discards (DISC-MAX 0): {why}. " + _WHY_TRIM, advice, evidence)
    if own is False or offered is False:
        return Finding(Status.WARN, disk.name, f"No TRIM: {'the disk does not report ' + own_word if own is False else 'the kernel offers no discard for it'}. "
                       + _WHY_TRIM, "Leave 10-20 % of the disk unpartitioned as spare area, and check for a "
                       "firmware update that adds TRIM.", evidence)
    return Finding(Status.WARN, disk.name, "Whether this disk supports TRIM is unknown: neither the disk's "
                   "tools nor the kernel's discard limits answered.",
                   "Install hdparm/smartmontools (or nvme-cli) and run as root.", evidence)


def _determinism(disk: Disk, identity: DiskIdentity, quirks: QuirkMatch | None) -> Finding | None:
    drat, rzat = identity.drat, identity.rzat
    if drat is None and rzat is None:
        return None
    trusted = quirks is not None and "zeroaftertrim" in quirks.quirks
    if rzat:
        kernel = (" The kernel trusts it for this model (zeroaftertrim)." if trusted else
                  " The kernel does not rely on it for this model (no zeroaftertrim quirk).")
        message = f"DRAT {_yes_no(drat)}, RZAT yes: the disk promises to read zeroes after TRIM.{kernel}"
        advice = "The zero read-back test (opt-in) checks the promise; its verdict counts for this disk."
    else:
        message = (f"DRAT {_yes_no(drat)}, RZAT {_yes_no(rzat)}: the disk does not promise zeroes after "
                   "TRIM, so a trimmed block may read back as old data or anything else.")
        advice = ("The zero read-back test (opt-in) is informational only for this disk: data that reads "
                  "back after fstrim is allowed, not a failure.")
    return Finding(Status.OK, disk.name, message, advice, identity.evidence)


def _quirk_finding(disk: Disk, quirks: QuirkMatch) -> Finding | None:
    relevant = [q for q in _QUIRK_WORDS if q in quirks.quirks]
    if not relevant:
        return None
    where = "from the kernel log" if quirks.from_kernel_log else "in the kernel's quirk list (bundled snapshot)"
    advice = ""
    if "noncqtrim" in relevant:
        advice = ("Each TRIM stalls other I/O while it runs: use the weekly fstrim.timer, never the "
                  "`discard` mount option, on this disk.")
    status = Status.WARN if "notrim" in relevant else Status.OK
    return Finding(status, disk.name, f"libata quirk {where}: " + "; ".join(_QUIRK_WORDS[q] for q in relevant)
                   + ".", advice, (quirks.evidence,) if quirks.evidence else ())


def _passthrough_finding(disk: Disk, passthrough: Passthrough) -> Finding | None:
    blocker = passthrough.blocked_at
    if passthrough.reaches is not False or blocker is None or blocker is disk.block or blocker.name == disk.name:
        return None
    excerpt = json.dumps({k: blocker.raw[k] for k in ("name", "type", "disc-gran", "disc-max") if k in blocker.raw}) \
        if blocker.raw else f"{blocker.name}: discard_max_bytes 0"
    source = _LSBLK if disk.block is not None else f"{SYS_BLOCK}/{blocker.kname or blocker.name}/queue/discard_max_bytes"
    return Finding(Status.WARN, disk.name, f"Discard stops at the {layer_word(blocker)} layer {blocker.name} "
                   f"({passthrough.chain_text}): fstrim on anything above it trims nothing on the SSD.",
                   _layer_advice(blocker), (Evidence(source, excerpt),))


def layer_word(device: BlockDevice) -> str:
    return kind_word(device.type or "layer")


def _layer_advice(device: BlockDevice) -> str:
    kind = "raid" if (device.type or "").startswith("raid") else (device.type or "")
    advice = _LAYER_ADVICE.get(kind, "Check how this layer was set up: it does not pass discards to the "
                                     "layer below.")
    return advice.format(name=device.name)


def _timer_finding(timer: TimerState, any_trim: bool) -> Finding:
    state = timer.state
    ev = (timer.evidence,)
    if state is None:
        return Finding(Status.WARN, "fstrim.timer", "systemctl printed something unexpected; the timer's "
                       "state is unknown.", "Run `systemctl is-enabled fstrim.timer` by hand.", ev)
    if state.state is UnitFileState.COMMAND_MISSING or state.state is UnitFileState.NO_SYSTEMD:
        return Finding(Status.OK, "fstrim.timer", "This host does not run systemd, so there is no fstrim.timer.",
                       "Run `fstrim --all --verbose` weekly from cron instead." if any_trim else "", ev)
    if timer.fact == "enabled":
        return Finding(Status.OK, "fstrim.timer", f"fstrim.timer is {state.state.value}: every mounted "
                       "filesystem that supports discard is trimmed weekly.", "", ev)
    status = Status.WARN if any_trim else Status.OK
    if timer.fact == "absent":
        return Finding(status, "fstrim.timer", "fstrim.timer is not installed.",
                       "It ships with util-linux (`apt install util-linux`); then "
                       "`systemctl enable --now fstrim.timer`." if any_trim else "", ev)
    if state.state in (UnitFileState.MASKED, UnitFileState.MASKED_RUNTIME):
        advice = "Unmask and enable it: `systemctl unmask fstrim.timer && systemctl enable --now fstrim.timer`."
    else:
        advice = _FSTRIM_ADVICE
    return Finding(status, "fstrim.timer", f"fstrim.timer is {state.state.value}: nothing trims the "
                   "filesystems periodically.", advice if any_trim else "", ev)


def _disk_fact(row: ObservedDisk, identity: DiskIdentity | None, block: BlockDiscard) -> dict[str, Any]:
    return {
        "name": row.name,
        "trim_supported": row.trim_supported,
        "discard_max_bytes": block.max_bytes,
        "drat": identity.drat if identity else None,
        "rzat": identity.rzat if identity else None,
        "discard_passthrough": row.discard_passthrough,
    }


def _summary(rows: Sequence[ObservedDisk], timer: TimerState) -> str:
    reach = [row.name for row in rows if row.trim_reaches]
    parts = []
    if reach:
        parts.append(f"TRIM reaches {', '.join(reach)}")
    missing = [row.name for row in rows if row.name not in reach]
    if missing:
        parts.append(f"not (fully) on {', '.join(missing)}")
    parts.append(f"fstrim.timer {timer.fact or 'unknown'}")
    return "; ".join(parts)


# ---- the plan -------------------------------------------------------------------------------------

def plan(result: StepResult, choices: Mapping[str, str]) -> Plan | None:
    """Turn on the weekly fstrim.timer where a focus disk can TRIM and the timer is off.
    Undo puts the timer back as it was: disabled (and masked again, if it was masked).
    Reads only ``result.observed``."""
    observed = result.observed
    if observed is None:  # skipped, or the probe broke: nothing was read to plan from
        return None
    if not isinstance(observed, Observed):
        raise TypeError(f"the trim plan reads a trim.Observed, not {type(observed).__name__}")
    if not any(disk.trim_reaches for disk in observed.disks):
        return None
    # `systemctl is-enabled` reads each command's effect back: after a crash it tells whether the
    # command ran, and undo leaves a timer alone that someone has changed since.
    enable = CommandRun(_ENABLE, _DISABLE, "run fstrim weekly on every filesystem that supports it",
                        StateCheck("disabled", "enabled", argv=FSTRIM_TIMER_ARGV))
    if observed.timer_state is UnitFileState.DISABLED:
        changes: tuple[CommandRun, ...] = (enable,)
    elif observed.timer_state is UnitFileState.MASKED:
        changes = (CommandRun(("systemctl", "unmask", "fstrim.timer"), ("systemctl", "mask", "fstrim.timer"),
                              "the timer is masked: unmask it first", StateCheck("masked", "disabled", argv=FSTRIM_TIMER_ARGV)),
                   enable)
    else:
        return None
    return Plan(ID, changes, notes=(
        "fstrim.timer runs weekly (OnCalendar=weekly, with a random delay): run `fstrim -av` once now to trim "
        "what has piled up since the filesystems were made.",))
