"""Step 6, ``mount``: the mount options of the filesystems on the focus disks.

The guide's fstab line is ``discard,noatime,commit=600``. Today: ``noatime`` still saves a
metadata write (relatime, the default since 2.6.30, writes atime on the first read after a
change and once a day); a weekly ``fstrim.timer`` beats continuous ``discard`` on ext4/xfs
(every delete waits for its TRIM, and many SATA SSDs queue TRIM badly); on btrfs an explicit
``discard`` means discard=sync and downgrades the async discard that is the default since 6.2;
``commit=600`` can lose up to 10 minutes of changes on power loss. What fstab asks for and
what the kernel has mounted can differ (edited, not remounted), so both are read and compared.
The per-option verdicts and reasons live in ``data/mount_options.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssdwizard.apply.plan import FILE_PLACEHOLDER, FileEdit, Plan
from ssdwizard.data import load_table
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import fstab as fstab_parser
from ssdwizard.parsers.fstab import Fstab, FstabEntry
from ssdwizard.parsers.systemctl import IsEnabled, UnitFileState, parse_is_enabled
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.steps import chosen
from ssdwizard.machine.inventory import probe_inventory
from ssdwizard.machine.placement import (PlacedMount, Placement, StackedDevice, lsblk_specs, mount_device_finder,
                                         probe_all_devices, probe_placement)

ID = "mount"
TITLE = "Mount options"
FSTAB = "/etc/fstab"
TIMER_ARGV = ("systemctl", "is-enabled", "fstrim.timer")
# The journal/transaction commit interval when no commit= is given (ext4.rst, btrfs(5)).
_DEFAULT_COMMIT = {"ext4": 5, "ext3": 5, "btrfs": 30}
_ATIME = ("noatime", "relatime", "strictatime", "atime", "nodiratime")
_DISCARD = ("discard", "nodiscard", "discard=sync", "discard=async")
# Filesystems that fstrim (FITRIM) can trim and that do not trim by themselves by default.
_NEEDS_TRIM = frozenset({"ext4", "ext3", "ext2", "xfs", "vfat", "jfs", "exfat", "ntfs3"})

CHOICE_DISCARD = "mount.discard"
CHOICE_COMMIT = "mount.commit"  # both declared, with their values, in the step table (steps/__init__.py)
VALIDATE = ("findmnt", "--verify", "--tab-file", FILE_PLACEHOLDER)
# The filesystems whose lines the plan edits. An ESP's vfat, swap, bind mounts, tmpfs, network
# and "auto" lines keep their options: the guide's advice is about these, and an option that a
# type does not know makes the mount fail at boot.
_EDITABLE = frozenset({"ext4", "ext3", "ext2", "xfs", "btrfs", "f2fs"})
# The atime words noatime replaces: libmount's "atime" clears noatime, the kernel's strictatime
# overrides it, and relatime is the default that noatime improves on. nodiratime stays where the
# admin wrote it: noatime implies it (mount(8)), so it is redundant but harmless, and the plan
# changes only what changes behaviour (the probe's table already calls it redundant).
_NOT_NOATIME = ("relatime", "strictatime", "atime")
# Filesystems that drop online discard for the weekly fstrim.timer. f2fs is not among them:
# its discard is on by default and asynchronous, so removing the word would change nothing.
_TIMER_TRIMMED = frozenset({"ext4", "ext3", "ext2", "xfs"})
# Those whose remount keeps an option fstab merely stops naming (ext4's reconfigure applies
# only the options given), so the remount names the default explicitly. XFS ignores discard
# on remount altogether. Both checked on loop devices (Linux 6.18, util-linux 2.38.1).
_EXT = frozenset({"ext4", "ext3", "ext2"})
_BTRFS_SYNC = ("discard", "discard=sync")
_ASYNC_DISCARD_SINCE = (5, 6)  # btrfs(5): discard=async "since: 5.6"
_ENABLED = (UnitFileState.ENABLED, UnitFileState.ENABLED_RUNTIME)
_NO_SYSTEMD = (UnitFileState.NO_SYSTEMD, UnitFileState.COMMAND_MISSING)


@dataclass(frozen=True)
class Observed:
    """What :func:`plan` needs, read once by the probe, so that it plans without the machine
    (and a test can hand it any machine it likes). Only a probe that found an fstab to edit
    fills it; otherwise ``observed`` is None and there is nothing to plan."""

    #: /etc/fstab as the probe parsed it; ``render()`` gives back its bytes.
    fstab: Fstab
    #: The entries of ``fstab`` on the focus disks (swap and every other type included: the
    #: plan decides which it may edit), in file order. They are rows of ``fstab`` itself, so a
    #: plan edits a line only while that very line is still there.
    focus: tuple[FstabEntry, ...]
    #: The live mount points on the focus disks, sorted; None when mountinfo could not be read
    #: (the plan then cannot say which to remount).
    mounted: tuple[str, ...] | None
    #: ``systemctl is-enabled fstrim.timer``; None when its answer could not be read.
    timer: UnitFileState | None
    #: /proc/sys/kernel/osrelease (btrfs has discard=async since 5.6); None when unreadable.
    kernel: str | None


@dataclass
class _Filesystem:
    """One filesystem on a focus disk: its fstab lines and its live mounts (bind mounts and
    btrfs subvolumes of one filesystem share its super options)."""

    key: str
    entries: list[FstabEntry] = field(default_factory=list)
    mounts: list[PlacedMount] = field(default_factory=list)

    @property
    def fstype(self) -> str:
        if self.mounts:
            return self.mounts[0].fstype or ""
        return self.entries[0].vfstype if self.entries else ""

    @property
    def label(self) -> str:
        targets = [m.target for m in self.mounts] or [e.file for e in self.entries]
        return ", ".join(dict.fromkeys(targets))


# --- The probe: fstab, the live mounts and the timer, read once ---------------------------------

def probe(ctx: ProbeContext) -> StepResult:
    placement = probe_placement(ctx)
    findings: list[Finding] = list(placement.notes)
    facts: dict[str, Any] = {"fstab": [], "mounts": []}
    if not placement.disks:
        return StepResult(ID, TITLE, Status.SKIP, "No SSD in focus: no mount options to judge.", tuple(findings), facts)
    document, fstab_findings = _read_fstab(ctx)
    findings += fstab_findings
    matched = _match_fstab(ctx, placement, document) if document else []
    facts["fstab"] = _fstab_facts(ctx, placement, document, matched) if document else []
    facts["mounts"] = [{"target": m.target, "options": list(_live_options(m))} for m in placement.mounts if m.mount]
    filesystems: dict[str, _Filesystem] = {}
    for mount in placement.mounts:
        filesystems.setdefault(mount.filesystem_key, _Filesystem(mount.filesystem_key)).mounts.append(mount)
    for entry, key in matched:
        if entry.vfstype != "swap":
            filesystems.setdefault(key, _Filesystem(key)).entries.append(entry)
    if not filesystems:
        return StepResult(ID, TITLE, Status.SKIP,
                          f"Nothing on {', '.join(d.name for d in placement.disks)} is mounted or listed in fstab.",
                          tuple(findings), facts)
    timer = _timer_state(ctx)
    for fs in filesystems.values():
        findings += _atime_findings(fs)
        findings += _option_findings(fs, timer)
        if fs.mounts and not fs.entries and document is not None:
            findings.append(Finding(Status.OK, fs.label, f"{fs.label} has no line in {FSTAB} (mounted by a systemd unit, "
                                    "the desktop or by hand): its options last until it is unmounted.", "",
                                    tuple(m.evidence for m in fs.mounts)))
        if fs.entries and not fs.mounts and placement.mountinfo is not None:
            findings.append(Finding(Status.OK, fs.label, f"{fs.label} is in {FSTAB} but not mounted now.", "",
                                    tuple(_fstab_evidence(e) for e in fs.entries)))
    coverage = _trim_coverage(list(filesystems.values()), timer)
    if coverage:
        findings.append(coverage)
    if document is not None:
        findings += _duplicate_findings(document, [e for e, _ in matched])
    observed = _observe(ctx, placement, document, matched, timer) if document is not None else None
    status = Status.worst([f.status for f in findings])
    warned = [f for f in findings if f.status is not Status.OK]
    noatime_missing = sum(1 for f in findings if "noatime saves that write" in f.message)
    summary = f"{len(filesystems)} filesystem{'s' if len(filesystems) != 1 else ''}: "
    summary += f"{len(warned)} to change" if warned else "options fine"
    if noatime_missing:
        summary += f"; noatime recommended on {noatime_missing}"
    return StepResult(ID, TITLE, status, summary, tuple(findings), facts, observed=observed)


def _observe(ctx: ProbeContext, placement: Placement, document: Fstab, matched: list[tuple[FstabEntry, str]],
             timer: IsEnabled | None) -> Observed:
    """What :func:`plan` needs, so that it can plan without reading the machine again."""
    return Observed(
        fstab=document,
        focus=tuple(entry for entry, _ in matched),
        mounted=(tuple(sorted({m.target for m in placement.mounts if m.mount}))
                 if placement.mountinfo is not None else None),
        timer=timer.state if timer is not None else None,
        kernel=ctx.read_value("/proc/sys/kernel/osrelease"),
    )


def _fstab_spec(entry: FstabEntry) -> str:
    tag = entry.spec_tag
    return f"{tag[0]}={tag[1]}" if tag else entry.spec


def _other_disk_specs(ctx: ProbeContext, placement: Placement) -> set[str]:
    """Specs that name a device on a disk outside the focus: such fstab lines are not ours."""
    focus = {d.name for d in placement.disks}
    specs: set[str] = set()
    for disk in probe_inventory(ctx).disks:
        if disk.name not in focus and disk.block is not None:
            for device in disk.block.walk():
                specs |= lsblk_specs(device)
    return specs


def _match_fstab(ctx: ProbeContext, placement: Placement, document: Fstab) -> list[tuple[FstabEntry, str]]:
    """The fstab entries of the focus disks' filesystems, each with its filesystem key."""
    targets = {m.target: m.filesystem_key for m in placement.mounts}
    others = _other_disk_specs(ctx, placement)
    matched = []
    for entry in document.entries:
        spec = _fstab_spec(entry)
        device = placement.device_for_spec(spec)
        if device is None and spec.startswith("/dev/"):
            device = placement.device_for_spec(ctx.realpath(spec))
        if device is not None:
            matched.append((entry, device.name))
        elif spec not in others and entry.mount_point in targets:
            # lsblk gave no UUIDs (no udev) or the spec is one this wizard cannot resolve:
            # the mount point ties the line to a live mount on a focus disk.
            matched.append((entry, targets[entry.mount_point]))
    return matched


def _fstab_facts(ctx: ProbeContext, placement: Placement, document: Fstab,
                 matched: list[tuple[FstabEntry, str]]) -> list[dict[str, Any]]:
    """Every entry of fstab in file order (comments, blank and malformed lines aside), each with
    the disk it is on and whether that is a focus disk: the lines the findings and the plan are about."""
    focus = {entry.number: key for entry, key in matched}
    disk_of = _disk_finder(ctx, placement)
    # disk and focus beside the mount point: the wizard's facts table shows the columns in this
    # order, and a long UUID= spec pushes the last ones off an 80- or 100-column screen.
    return [{"line": e.number, "file": e.file, "disk": disk_of(e, focus.get(e.number)),
             "focus": e.number in focus, "spec": e.spec, "vfstype": e.vfstype, "options": list(e.options),
             "dump": e.dump, "pass": e.pass_}
            for e in document.entries]


def _disk_finder(ctx: ProbeContext, placement: Placement) -> Callable[[FstabEntry, str | None], str | None]:
    """What finds the disk an fstab line is on, comma-separated when its device spans several
    (as the filesystem step's ``disk``); None for what names no device (tmpfs, proc, a network
    share, a swap file, a bind mount off the focus disks) or a device that is not here (a UUID
    of a disk that is gone). A focus line (its ``key``) is on the focus filesystem the findings
    tie it to. What every line needs (all devices, the mount lookup, the tag kinds lsblk gives)
    is worked out once."""
    devices = probe_all_devices(ctx)
    device_of = mount_device_finder(devices)
    tag_kinds = {spec.partition("=")[0] for d in devices for spec in d.specs if "=" in spec}

    def disk_of(entry: FstabEntry, key: str | None) -> str | None:
        device: StackedDevice | None
        if key is not None:
            # A focus line: the very filesystem the findings are about, with every disk it spans.
            device = (next((d for d in devices if d.name == key), None)
                      or next((d for d in placement.devices if d.name == key), None))
        else:
            spec = _fstab_spec(entry)
            device = next((d for d in devices if spec in d.specs), None)
            if device is None and spec.startswith("/dev/"):
                real = ctx.realpath(spec)
                device = next((d for d in devices if real in d.specs), None)
            tag = entry.spec_tag
            if device is None and tag is not None and placement.mountinfo is not None and tag[0] not in tag_kinds:
                # lsblk gave no such tags at all (no udev; sysfs knows none): the live mount at the
                # line's mount point says which device. A tag that lsblk does give but no device
                # has names a filesystem that is not here, and stays unresolved.
                mount = placement.mountinfo.visible(entry.mount_point)
                device = device_of(mount) if mount is not None else None
        return ",".join(device.disks) if device is not None else None

    return disk_of


def _read_fstab(ctx: ProbeContext) -> tuple[Fstab | None, list[Finding]]:
    text = ctx.read_text(FSTAB)
    if text is None:
        return None, [Finding(
            Status.WARN, FSTAB,
            f"No {FSTAB}: the mounts come from somewhere else (systemd .mount units, the initramfs, a container "
            "runtime), so the options judged below are the live ones only and the wizard has no line to change.",
            "Set lasting mount options where these mounts are defined (e.g. Options= in the .mount unit).",
            (Evidence(FSTAB, "(missing or unreadable)"),))]
    try:
        document = fstab_parser.parse(text)
    except (ValueError, RecursionError) as exc:  # parse() never fails by design; a bug must not crash the step
        return None, [Finding(Status.WARN, FSTAB, f"{FSTAB} could not be read: {exc}.", "",
                              (Evidence(FSTAB, text[:200]),))]
    findings = [Finding(Status.WARN, f"{FSTAB}:{line.number}",
                        f"Line {line.number} of {FSTAB} is not a valid entry ({line.reason}); mount(8) ignores or rejects it.",
                        "Fix or comment out the line; check with: findmnt --verify",
                        (Evidence(f"{FSTAB}:{line.number}", line.text[:200]),))
                for line in document.unparsed]
    return document, findings


def _timer_state(ctx: ProbeContext) -> IsEnabled | None:
    result = ctx.run(TIMER_ARGV)
    try:
        return parse_is_enabled(result.stdout, result.exit_code, result.stderr)
    except ParseError:
        return None


# --- The findings: each option judged, with the line it came from -------------------------------

def _fstab_evidence(entry: FstabEntry) -> Evidence:
    return Evidence(f"{FSTAB}:{entry.number}", entry.text)


def option_row(option: str, fstype: str) -> dict[str, Any] | None:
    """The mount_options.toml row for an option on a filesystem type (``commit=`` rows match any value)."""
    for row in load_table("mount_options")["option"]:
        name = row["option"]
        matches = option == name or (name.endswith("=") and option.startswith(name))
        if matches and ("*" in row["fstypes"] or fstype in row["fstypes"]):
            return row
    return None


def _live_options(mount: PlacedMount) -> tuple[str, ...]:
    return tuple(dict.fromkeys(mount.mount.all_options)) if mount.mount else ()


def atime_mode(options: tuple[str, ...], live: bool) -> str:
    """noatime, relatime or strictatime. The kernel shows no word for strictatime; fstab
    without a word means the relatime default."""
    for word in ("noatime", "strictatime", "relatime"):
        if word in options:
            return word
    return "strictatime" if live else "relatime"


def discard_mode(options: tuple[str, ...], fstype: str) -> str | None:
    """off, on, sync or async; None when the options don't say (the filesystem's default)."""
    mode = None
    for option in options:
        if option == "nodiscard":
            mode = "off"
        elif option == "discard":
            mode = "sync" if fstype == "btrfs" else "on"
        elif option.startswith("discard="):
            mode = option.split("=", 1)[1]
    return mode


def commit_seconds(options: tuple[str, ...]) -> int | None:
    for option in reversed(options):
        if option.startswith("commit="):
            try:
                return int(option.split("=", 1)[1])
            except ValueError:
                return None
    return None


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 and seconds >= 120 else f"{seconds} seconds"


def _timer_words(timer: IsEnabled | None) -> str:
    if timer is None:
        return "the state of fstrim.timer is unknown"
    if timer.enabled:
        return "fstrim.timer is enabled, so removing 'discard' loses nothing"
    if timer.state is UnitFileState.COMMAND_MISSING or timer.state is UnitFileState.NO_SYSTEMD:
        return "this machine has no systemd: run 'fstrim -av' weekly from cron instead"
    if timer.state is UnitFileState.NOT_FOUND:
        return "fstrim.timer is not installed (apt install util-linux, or a weekly cron job 'fstrim -av')"
    return f"fstrim.timer is {timer.state.value}: enable it first (systemctl enable --now fstrim.timer)"


def _evidence(fs: _Filesystem) -> tuple[Evidence, ...]:
    return tuple(_fstab_evidence(e) for e in fs.entries) + tuple(m.evidence for m in fs.mounts if m.mount)


def _atime_findings(fs: _Filesystem) -> list[Finding]:
    findings = []
    row = option_row("noatime", fs.fstype) or {}
    for target in dict.fromkeys([m.target for m in fs.mounts] or [e.file for e in fs.entries]):
        live = next((m for m in reversed(fs.mounts) if m.target == target and m.mount), None)
        entry = next((e for e in reversed(fs.entries) if e.file == target or e.mount_point == target), None)
        evidence = ((_fstab_evidence(entry),) if entry else ()) + ((live.evidence,) if live else ())
        mode = (atime_mode(live.mount.options, True) if live and live.mount
                else atime_mode(entry.options if entry else (), False))
        where = "mounted" if live else "set in fstab"
        if mode == "noatime":
            findings.append(Finding(Status.OK, target, f"{target} is {where} noatime.", "", evidence))
        elif mode == "strictatime":
            strict = option_row("strictatime", fs.fstype) or {}
            findings.append(Finding(Status.WARN, target, f"{target} is {where} with strictatime: {strict.get('why', '')}.",
                                    strict.get("advice", "Replace it with noatime."), evidence))
        else:
            findings.append(Finding(Status.OK, target,
                                    f"{target} is {where} relatime (the kernel default since 2.6.30): an access time is "
                                    "still written on the first read after each change and once a day; noatime saves that write.",
                                    row.get("advice", "Add noatime."), evidence))
        if live and entry:
            findings += _differences(target, entry, live, fs.fstype)
    return findings


def _differences(target: str, entry: FstabEntry, live: PlacedMount, fstype: str) -> list[Finding]:
    """fstab and the live mount disagree: edited and not remounted, or changed by hand and not saved."""
    assert live.mount is not None
    evidence = (_fstab_evidence(entry), live.evidence)
    live_opts = _live_options(live)
    pairs = [("access time", atime_mode(entry.options, False), atime_mode(live.mount.options, True))]
    wanted_discard = discard_mode(entry.options, fstype)
    have_discard = discard_mode(live_opts, fstype) or "off"
    if wanted_discard is not None or (fstype != "btrfs" and have_discard != "off"):
        pairs.append(("discard", wanted_discard or "off", have_discard))
    if fstype in _DEFAULT_COMMIT:
        default = _DEFAULT_COMMIT[fstype]
        pairs.append(("commit interval", f"{commit_seconds(entry.options) or default} s",
                      f"{commit_seconds(live_opts) or default} s"))
    findings = []
    for what, wanted, have in pairs:
        if wanted != have:
            findings.append(Finding(
                Status.WARN, target,
                f"fstab line {entry.number} asks for {what} '{wanted}', the live mount has '{have}': "
                "fstab was changed and the filesystem not remounted, or the mount was changed by hand and not saved.",
                f"Remount to apply fstab (mount -o remount {target}), or write the live value into fstab so it survives a reboot.",
                evidence))
    if "ro" not in entry.options and "ro" in live.mount.options:
        findings.append(Finding(
            Status.WARN, target, f"{target} is mounted read-only though fstab line {entry.number} does not ask for it: "
            "the kernel may have remounted it after an error (errors=remount-ro).",
            "Look in dmesg for filesystem or disk errors before remounting read-write.", evidence))
    return findings


def _option_findings(fs: _Filesystem, timer: IsEnabled | None) -> list[Finding]:
    """discard, commit= and the other options with a verdict, once per filesystem."""
    findings = []
    fstype = fs.fstype
    options = [o for e in fs.entries for o in e.options] + [o for m in fs.mounts for o in _live_options(m)]
    seen: set[str] = set()
    evidence = _evidence(fs)
    for option in dict.fromkeys(options):
        if option in _ATIME or option in seen:
            continue
        seen.add(option)
        if option in _DISCARD:
            continue
        row = option_row(option, fstype)
        if row is None or row["verdict"] == "recommend":
            continue
        if option.startswith("commit="):
            seconds = commit_seconds((option,))
            if seconds is None or seconds <= _DEFAULT_COMMIT.get(fstype, 0):
                continue
            findings.append(Finding(Status.WARN, fs.label,
                                    f"{option}: up to {_duration(seconds)} of changes can be lost on power loss. "
                                    f"{row['why']}.",
                                    row["advice"], evidence))
            continue
        findings.append(Finding(Status.WARN, fs.label, f"'{option}' on {fstype}: {row['why']}.", row["advice"], evidence))
    findings += _discard_findings(fs, timer, evidence)
    return findings


def _discard_findings(fs: _Filesystem, timer: IsEnabled | None, evidence: tuple[Evidence, ...]) -> list[Finding]:
    fstype = fs.fstype
    asked = [discard_mode(e.options, fstype) for e in fs.entries]
    live = [discard_mode(_live_options(m), fstype) for m in fs.mounts if m.mount]
    modes = {m for m in asked + live if m}
    if fstype == "btrfs":
        if "sync" in modes:
            btrfs = option_row("discard", "btrfs") or {}
            return [Finding(Status.WARN, fs.label,
                            f"btrfs with plain 'discard' (= discard=sync). {btrfs.get('why', '')}.",
                            btrfs.get("advice", "Remove 'discard'."), evidence)]
        if "async" in modes:
            return [Finding(Status.OK, fs.label, "btrfs discards asynchronously (discard=async).", "", evidence)]
        return []
    if modes & {"on", "sync", "async"}:
        row = option_row("discard", fstype)
        if row is None:
            return []
        return [Finding(Status.WARN, fs.label, f"Continuous 'discard' on {fstype}. {row['why']}.",
                        f"{row['advice']}. Here {_timer_words(timer)}.", evidence)]
    return []


def _trim_coverage(filesystems: list[_Filesystem], timer: IsEnabled | None) -> Finding | None:
    """Nothing trims a filesystem that has no discard when the weekly timer is off."""
    untrimmed = [fs.label for fs in filesystems if fs.fstype in _NEEDS_TRIM and fs.mounts
                 and not any(discard_mode(_live_options(m), fs.fstype) in ("on", "sync", "async") for m in fs.mounts)]
    evidence = (Evidence(" ".join(TIMER_ARGV), timer.evidence if timer else "(no answer)"),)
    if timer is not None and timer.enabled:
        return Finding(Status.OK, "fstrim.timer", "fstrim.timer is enabled: the mounted filesystems are trimmed weekly.",
                       "", evidence)
    if not untrimmed:
        return None
    return Finding(Status.WARN, "fstrim.timer",
                   f"Nothing trims {', '.join(untrimmed)}: no 'discard' option and {_timer_words(timer).split(':')[0]}.",
                   "systemctl enable --now fstrim.timer (weekly 'fstrim --listed-in /etc/fstab:/proc/self/mountinfo').",
                   evidence)


def _duplicates(document: Fstab) -> dict[str, list[FstabEntry]]:
    """Mount points that more than one entry names (swap's ``none`` aside): at boot the later
    line wins, and ``mount -o remount`` on that point cannot say which line it means."""
    by_point: dict[str, list[FstabEntry]] = {}
    for entry in document.entries:
        if entry.vfstype != "swap" and entry.mount_point != "none":
            by_point.setdefault(entry.mount_point, []).append(entry)
    return {point: entries for point, entries in by_point.items() if len(entries) > 1}


def _duplicate_findings(document: Fstab, focus: list[FstabEntry]) -> list[Finding]:
    focus_points = {e.mount_point for e in focus}
    return [Finding(Status.WARN, point,
                    f"{point} is named by lines {', '.join(str(e.number) for e in entries)} of {FSTAB}: the later line "
                    "wins at boot, so the wizard edits neither.",
                    "Remove or comment out the line that is not meant "
                    "(findmnt --verify says: target specified more than once).",
                    tuple(_fstab_evidence(e) for e in entries))
            for point, entries in _duplicates(document).items() if point in focus_points]


# --- The plan: the fstab edit, from the probe's Observed alone ---------------------------------

@dataclass(frozen=True)
class _LineEdit:
    """One fstab line's new options, in words, and what its remount must name."""

    entry: FstabEntry
    options: tuple[str, ...]
    words: tuple[str, ...]
    remount: tuple[str, ...] = ()
    kept_commit: str | None = None
    timer_discard: bool = False  # online discard left for the weekly fstrim.timer
    xfs_discard: bool = False
    old_kernel_btrfs: bool = False

    @property
    def remount_helps(self) -> bool:
        """Whether a remount applies anything: not when XFS's ignored discard is all that changed."""
        return any(not (self.xfs_discard and word.startswith("drop discard")) for word in self.words)


def _kernel_version(release: str | None) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", release or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _noatime(options: list[str]) -> tuple[list[str], list[str]]:
    """noatime in place of the first atime word (else at the end); the other atime words go."""
    conflicting = [o for o in options if o in _NOT_NOATIME]
    if not conflicting and "noatime" in options:
        return options, []
    kept = [o for o in options if o not in _NOT_NOATIME]
    if "noatime" in options:
        return kept, [f"drop {o}" for o in conflicting]
    at = options.index(conflicting[0]) if conflicting else len(options)
    kept.insert(sum(1 for o in options[:at] if o not in _NOT_NOATIME), "noatime")
    words = [f"{conflicting[0]} → noatime" if conflicting else "add noatime"]
    return kept, words + [f"drop {o}" for o in conflicting[1:]]


def _edit_line(entry: FstabEntry, fstype: str, discard: str, commit: str,
               kernel: tuple[int, int] | None) -> _LineEdit | None:
    options, words = _noatime(list(entry.options))
    remount: list[str] = []
    flags: dict[str, Any] = {}
    mode = discard_mode(tuple(options), fstype)
    if discard == "timer" and fstype in _TIMER_TRIMMED and mode == "on":
        options = [o for o in options if o != "discard"]
        words.append("drop discard (weekly fstrim.timer instead)")
        flags["timer_discard"] = True
        if fstype in _EXT:
            remount.append("nodiscard")
        else:
            flags["xfs_discard"] = True
    elif discard == "timer" and fstype == "btrfs" and mode == "sync":
        # Plain discard on btrfs is discard=sync. discard=async rather than nothing: it is the
        # kernel's own choice since 6.2, so writing it loses nothing there; on 5.6-6.1 (Debian
        # 11, PVE 7) removing the word would switch discard off altogether; and a remount
        # applies it at once, where a removed word would leave sync discard on until reboot.
        if kernel is not None and kernel < _ASYNC_DISCARD_SINCE:
            flags["old_kernel_btrfs"] = True
        else:
            first = next(i for i, o in enumerate(options) if o in _BTRFS_SYNC)
            sync_word = options[first]
            async_named = "discard=async" in options  # named before the sync word that overrode it
            options = [("discard=async" if i == first and not async_named else o)
                       for i, o in enumerate(options) if o not in _BTRFS_SYNC or (i == first and not async_named)]
            words.append(f"{sync_word} → discard=async")
    default = _DEFAULT_COMMIT.get(fstype)
    high = [o for o in options if default is not None and (commit_seconds((o,)) or 0) > default]
    if high and commit == "remove":
        options = [o for o in options if o not in high]
        words.append(f"drop {', '.join(high)} (default {default} s)")
        if not any(o.startswith("commit=") for o in options):
            remount.append("commit=0")  # the default interval (ext4.rst, btrfs(5))
    elif high:
        flags["kept_commit"] = high[-1]
    if tuple(options) == entry.options:
        return _LineEdit(entry, entry.options, (), kept_commit=flags.get("kept_commit")) if high else None
    return _LineEdit(entry, tuple(options), tuple(words), tuple(remount), **flags)


def plan(result: StepResult, choices: Mapping[str, str]) -> Plan | None:
    """The fstab edit for the focus disks' lines: noatime, discard left to the weekly timer
    (choice ``mount.discard``: ``timer``/``keep``), commit= above the default removed (choice
    ``mount.commit``: ``remove``/``keep``). Pure: it reads only ``result.observed`` (None for
    a skipped step, or one without an fstab to edit: nothing to plan)."""
    discard, commit = chosen(choices, CHOICE_DISCARD), chosen(choices, CHOICE_COMMIT)
    observed = result.observed
    if not isinstance(observed, Observed) or not observed.focus:
        return None
    document = observed.fstab
    duplicates = _duplicates(document)
    kernel = _kernel_version(observed.kernel)
    edits: list[_LineEdit] = []
    kept: list[_LineEdit] = []
    refused: dict[str, list[FstabEntry]] = {}
    for line in observed.focus:
        number = line.number
        entry = document.lines[number - 1] if 1 <= number <= len(document.lines) else None
        # Only the very line the probe matched, still in its place; never a comment or malformed line.
        if not isinstance(entry, FstabEntry) or entry != line:
            continue
        if entry.vfstype not in _EDITABLE:
            continue
        edit = _edit_line(entry, entry.vfstype, discard, commit, kernel)
        if edit is None:
            continue
        if entry.mount_point in duplicates:
            refused[entry.mount_point] = duplicates[entry.mount_point]
        elif edit.words:
            edits.append(edit)
        else:
            kept.append(edit)
    warnings = [f"{point} is named by lines {', '.join(str(e.number) for e in entries)} of {FSTAB}: the wizard "
                "does not edit an ambiguous line (the later one wins at boot). Remove the line that is not meant "
                "and plan again." for point, entries in refused.items()]
    if not edits:
        return Plan(ID, (), tuple(warnings)) if warnings else None
    after = "".join(
        next((e.entry.with_options(e.options) for e in edits if e.entry is line), line.raw) for line in document.lines)
    mounted = observed.mounted
    then: list[tuple[str, ...]] = []
    if observed.timer not in _NO_SYSTEMD:
        then.append(("systemctl", "daemon-reload"))  # systemd's mount units are generated from fstab
    for edit in edits:
        if mounted is not None and edit.entry.mount_point in mounted and edit.remount_helps:
            then.append(("mount", "-o", ",".join(("remount", *edit.remount)), edit.entry.mount_point))
    warnings += _plan_warnings(edits + kept, observed)
    change = FileEdit(path=FSTAB, before=document.render(), after=after,
                      why="; ".join(f"{e.entry.mount_point}: {', '.join(e.words)}" for e in edits),
                      validate=VALIDATE, then=tuple(then))
    return Plan(ID, (change,), tuple(warnings), tuple(_plan_notes(edits, observed)))


def _plan_warnings(edits: list[_LineEdit], observed: Observed) -> list[str]:
    warnings = []
    for edit in edits:
        if edit.kept_commit:
            seconds = commit_seconds((edit.kept_commit,)) or 0
            warnings.append(f"{edit.kept_commit} stays on {edit.entry.mount_point}: up to {_duration(seconds)} of "
                            "changes can be lost on power loss (the default is "
                            f"{_DEFAULT_COMMIT.get(edit.entry.vfstype, 5)} seconds).")
        if edit.old_kernel_btrfs:
            warnings.append(f"{edit.entry.mount_point}: kernel {observed.kernel} is older than 5.6 "
                            "and has no discard=async, so btrfs keeps its synchronous 'discard'.")
    timer = observed.timer
    if any(e.timer_discard for e in edits) and timer not in _ENABLED:
        state = f"is {timer.value}" if timer is not None else "is in an unknown state"
        warnings.append(f"Without 'discard' only the weekly fstrim.timer trims these filesystems, and it {state} now: "
                        "enable it with the trim step's action (systemctl enable --now fstrim.timer).")
    return warnings


def _plan_notes(edits: list[_LineEdit], observed: Observed) -> list[str]:
    mounted = observed.mounted
    notes = ["noatime takes effect at once: it is a per-mount flag that 'mount -o remount' sets."]
    if any("nodiscard" in e.remount or "commit=0" in e.remount for e in edits):
        notes.append("A remount keeps an option that fstab merely stops naming, so the remount names the default "
                     "(nodiscard, commit=0) to switch it back at once.")
    xfs = [e.entry.mount_point for e in edits if e.xfs_discard]
    if xfs:
        notes.append(f"XFS ignores discard on remount: {', '.join(xfs)} keeps online discard until it is next "
                     "mounted (reboot, or umount and mount).")
    if any(word.endswith("→ discard=async") for e in edits for word in e.words):
        notes.append("btrfs: discard=async is what the kernel picks by itself since 6.2; written out it also holds "
                     "on 5.6-6.1, and a remount applies it at once.")
    if any(e.timer_discard for e in edits) and observed.timer in _ENABLED:
        notes.append("Without 'discard' the weekly fstrim.timer trims these filesystems; it is enabled now.")
    if mounted is None:
        notes.append("The live mounts are unknown: remount the changed mount points by hand, or reboot.")
    else:
        if any(e.entry.mount_point == "/" for e in edits):
            notes.append("If the kernel refuses to remount / with the new options, they take effect at the next "
                         "boot; /etc/fstab is already right.")
        idle = [e.entry.mount_point for e in edits if e.entry.mount_point not in mounted]
        if idle:
            notes.append(f"Not mounted now: {', '.join(idle)}; the new options apply when it is next mounted.")
    if observed.timer in _NO_SYSTEMD:
        notes.append("No systemd here: no daemon-reload is needed.")
    return notes
