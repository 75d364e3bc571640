"""Step 2, ``health``: is each disk healthy, how worn is it, and is anyone watching?

Not in the 2013 guide; it is what admins ask first today, and what Proxmox's disk view, smartd,
Scrutiny and smartctl_exporter show: SMART's overall verdict, NVMe's percentage used and spare,
media errors and critical warnings, ATA's reallocated / pending / uncorrectable sectors and CRC
errors (which point at the cable, not the disk), written data against the rated endurance
where the model's rating is known, power-on hours and temperature, and whether smartd keeps
watching between runs.

It reads the smartctl report the disks step already asked for (``smartctl -x -n standby``):
a disk that is spun down stays asleep and says so, rather than being woken by a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import humanize

from ssdwizard.knowledge import rated_endurance, wear_attribute_names
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.identity import DiskIdentity, disk_identities, smartctl_argv
from ssdwizard.machine.inventory import Disk, probe_inventory
from ssdwizard.machine.units import UnitState, unit_state
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.parsers.smart_health import SmartHealth, vendor_wear
from ssdwizard.parsers.smartctl import SmartctlReport

ID = "health"
TITLE = "Health and wear"

#: Debian, Ubuntu and Proxmox name smartd's unit smartmontools.service (smartd.service is its
#: alias there); Fedora, RHEL, Arch and SUSE name it smartd.service. The first one found counts.
SMARTD_UNITS = ("smartmontools.service", "smartd.service")

#: Percentage used at which replacement should be planned. NVMe lets the value pass 100: the
#: rated life is used up, the disk is not dead; at 100 the advice gets firmer, not a failure.
WEAR_PLAN_PERCENT = 80
#: Without the disk's own limit: 70 °C is the maximum operating temperature most SATA and
#: NVMe SSD datasheets give (e.g. the Samsung 860 EVO's SCT limit in the demo, 70).
DEFAULT_TEMPERATURE_LIMIT_C = 70

_BACKUP = "Back up what is on it now, and replace it"
_SMARTD_ADVICE = ("Enable smartd so that a failing disk is reported when it starts, not when the next report "
                  "runs: `systemctl enable --now smartmontools` (Debian, Ubuntu, Proxmox; smartd elsewhere), "
                  "with `DEVICESCAN -a -n standby -m root` in /etc/smartd.conf so that it mails root and "
                  "leaves sleeping disks asleep.")


@dataclass(frozen=True)
class DiskHealth:
    """One disk's health as the step judges it: the report it came from and what it adds."""

    disk: Disk
    identity: DiskIdentity | None
    health: SmartHealth | None
    percentage_used: int | None
    percentage_used_source: str | None
    rated_bytes: int | None
    rated_source: str | None

    @property
    def report(self) -> SmartctlReport | None:
        return self.identity.smartctl if self.identity else None


def probe(ctx: ProbeContext) -> StepResult:
    inventory = probe_inventory(ctx)
    disks = tuple(d for d in inventory.disks if not d.virtual)
    if not inventory.disks:
        return StepResult(ID, TITLE, Status.SKIP, "No disks visible.", (), {"disks": [], "smartd": None})
    if not disks:
        names = ", ".join(d.name for d in inventory.disks)
        reason = (f"Only virtual disks here ({names}): a guest sees no SMART data; the host's own disks "
                  "carry the wear, so check health there.")
        return StepResult(ID, TITLE, Status.SKIP, reason,
                          (Finding(Status.SKIP, names, reason, "Run ssdwizard on the host (its health step)."),),
                          {"disks": [], "smartd": None})
    identities = disk_identities(ctx, disks)
    rows = [_judge(disk, identities.get(disk.name)) for disk in disks]
    if not any(row.health is not None or (row.identity and row.identity.asleep) for row in rows):
        # smartd comes in the same package as smartctl: with no answer from smartctl, it is not asked.
        problems = sorted({p for row in rows if row.identity for p in row.identity.problems})
        reason = "No disk answered smartctl: " + ("; ".join(problems) if problems else "no SMART data") + "."
        return StepResult(ID, TITLE, Status.SKIP, reason,
                          (Finding(Status.SKIP, ", ".join(d.name for d in disks), reason,
                                   "Install smartmontools (`apt install smartmontools`) and run as root; "
                                   "the other steps do not need it."),),
                          {"disks": [_facts(row) for row in rows], "smartd": None})
    smartd = _smartd(ctx)
    findings: list[Finding] = []
    for row in rows:
        findings += _findings(row)
    findings.append(_smartd_finding(smartd))
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, _summary(rows, smartd), tuple(findings),
                      {"disks": [_facts(row) for row in rows], "smartd": smartd.fact})


def _smartd(ctx: ProbeContext) -> UnitState:
    states = [unit_state(ctx, SMARTD_UNITS[0])]
    if states[0].fact == "absent":
        states.append(unit_state(ctx, SMARTD_UNITS[1]))
    return states[-1]


def _judge(disk: Disk, identity: DiskIdentity | None) -> DiskHealth:
    report = identity.smartctl if identity else None
    health = report.health if report is not None and not report.asleep else None
    used, used_source = (health.percentage_used, health.percentage_used_source) if health else (None, None)
    if health is not None and used is None:
        used, used_source = vendor_wear(health.attributes, wear_attribute_names())
    rating = rated_endurance(identity.model if identity else disk.model)
    return DiskHealth(disk, identity, health, used, used_source,
                      rating.bytes if rating else None, rating.source if rating else None)


def _facts(row: DiskHealth) -> dict[str, Any]:
    """A disk's health as DESIGN §3.2 lists it (null where the disk did not say)."""
    h = row.health
    return {
        "name": row.disk.name,
        "power_mode": row.identity.asleep if row.identity and row.identity.asleep else (
            row.report.power_mode if row.report else None),
        "smart_passed": h.passed if h else None,
        "power_on_hours": h.power_on_hours if h else None,
        "temperature_c": h.temperature_c if h else None,
        "percentage_used": row.percentage_used,
        "available_spare": h.available_spare if h else None,
        "available_spare_threshold": h.available_spare_threshold if h else None,
        "media_errors": h.media_errors if h else None,
        "critical_warning": h.critical_warning if h else None,
        "unsafe_shutdowns": h.unsafe_shutdowns if h else None,
        "data_written_bytes": h.data_written_bytes if h else None,
        "rated_endurance_bytes": row.rated_bytes,
        "reallocated_sectors": h.reallocated_sectors if h else None,
        "pending_sectors": h.pending_sectors if h else None,
        "offline_uncorrectable": h.offline_uncorrectable if h else None,
        "crc_errors": h.crc_errors if h else None,
        "grown_defects": h.grown_defects if h else None,
    }


def _evidence(row: DiskHealth) -> tuple[Evidence, ...]:
    """The smartctl command and the health fields that decided, one per line."""
    h, report = row.health, row.report
    source = next((e.source for e in (row.identity.evidence if row.identity else ()) if e.source.startswith("smartctl")),
                  " ".join(smartctl_argv(row.disk)))
    if h is None or report is None:
        return ()
    lines = {
        "smart_status.passed": h.passed,
        "smartctl.exit_status": report.exit_status.value if report.exit_status else None,
        "power_on_time.hours": h.power_on_hours,
        "temperature.current": h.temperature_c,
        "percentage used": (f"{row.percentage_used} ({row.percentage_used_source})"
                            if row.percentage_used is not None else None),
        "available_spare / threshold": (f"{h.available_spare} / {h.available_spare_threshold}"
                                        if h.available_spare is not None else None),
        "media_errors": h.media_errors,
        "critical_warning": h.critical_warning,
        "data written": f"{h.data_written_bytes} B ({h.data_written_source})" if h.data_written_bytes is not None else None,
        "Reallocated_Sector_Ct raw": h.reallocated_sectors,
        "Current_Pending_Sector raw": h.pending_sectors,
        "Offline_Uncorrectable raw": h.offline_uncorrectable,
        "CRC errors": h.crc_errors,
        "scsi_grown_defect_list": h.grown_defects,
    }
    excerpt = "\n".join(f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
                        for key, value in lines.items() if value is not None)
    return (Evidence(source, excerpt),)


def _findings(row: DiskHealth) -> list[Finding]:
    name, h = row.disk.name, row.health
    if row.identity is not None and row.identity.asleep:
        return [Finding(Status.OK, name, f"Asleep ({row.identity.asleep}): not woken to read SMART, so its health "
                        "stays unknown in this report.",
                        "Run the report again while the disk is awake, or let smartd check it (smartd's "
                        "`-n standby` also skips it while it sleeps).", row.identity.evidence)]
    if h is None:
        problems = row.identity.problems if row.identity else ()
        return [Finding(Status.OK, name, "No SMART data: " + ("; ".join(problems) or "smartctl gave none") + ".",
                        "Its health stays unknown; the other disks' still count.", _evidence(row))]
    evidence = _evidence(row)
    found: list[Finding] = []
    report = row.report
    status_bits = report.exit_status if report is not None else None
    if h.passed is False or (status_bits is not None and status_bits.disk_failing):
        found.append(Finding(Status.FAIL, name, "SMART overall-health self-assessment: FAILED. The disk itself "
                             "predicts its failure.", f"{_BACKUP} now.", evidence))
    for attribute in h.failing_attributes:
        found.append(Finding(Status.FAIL, name, f"SMART attribute {attribute.id} {attribute.name} is at or below "
                             f"its threshold now (value {attribute.value}, threshold {attribute.thresh}).",
                             f"{_BACKUP}.", evidence))
    for warning in h.critical_warnings:
        found.append(Finding(Status.FAIL, name, f"NVMe critical warning: {warning}.", f"{_BACKUP}.", evidence))
    if (h.available_spare is not None and h.available_spare_threshold is not None
            and h.available_spare <= h.available_spare_threshold and not (h.critical_warning or 0) & 1):
        found.append(Finding(Status.FAIL, name, f"Available spare {h.available_spare} % is at or below the "
                             f"disk's threshold ({h.available_spare_threshold} %): it is running out of blocks "
                             "to replace worn ones.", f"{_BACKUP}.", evidence))
    found += _wear(row, evidence)
    found += _errors(row, evidence)
    if status_bits is not None and status_bits.self_test_log_has_errors:
        found.append(Finding(Status.WARN, name, "The SMART self-test log records a failed self-test.",
                             "Read it with `smartctl -l selftest " + row.disk.path + "`; a failed read test "
                             "means sectors it could not read.", evidence))
    if h.temperature_c is not None:
        limit = h.temperature_limit_c or DEFAULT_TEMPERATURE_LIMIT_C
        if h.temperature_c >= limit:
            whose = "the disk's own limit" if h.temperature_limit_c else "the usual SSD maximum"
            found.append(Finding(Status.WARN, name, f"{h.temperature_c} °C: at or above {whose} ({limit} °C); hot "
                                 "flash throttles and wears faster.", "Check the airflow over the disk (NVMe: a "
                                 "heatsink), and that the chassis fans run.", evidence))
    if not any(f.status is not Status.OK for f in found):
        found.insert(0, Finding(Status.OK, name, "Healthy: " + _health_line(row) + ".", "", evidence))
    return found


def _wear(row: DiskHealth, evidence: tuple[Evidence, ...]) -> list[Finding]:
    name, h, used = row.disk.name, row.health, row.percentage_used
    found = []
    if used is not None and used >= 100:
        found.append(Finding(Status.WARN, name, f"{used} % of the rated endurance used: the disk has outlived "
                             "what its maker promises. It may go on for long, but the spare blocks are the "
                             "margin left.", "Plan its replacement now, and keep the backups current.", evidence))
    elif used is not None and used >= WEAR_PLAN_PERCENT:
        found.append(Finding(Status.WARN, name, f"{used} % of the rated endurance used.",
                             "Plan its replacement; compare the write rate (data written per power-on hour) "
                             "with what is left.", evidence))
    if h is not None and h.data_written_bytes is not None and row.rated_bytes and h.data_written_bytes >= row.rated_bytes:
        found.append(Finding(Status.WARN, name, f"{_size(h.data_written_bytes)} written: past the model's rated "
                             f"{_size(row.rated_bytes)} ({row.rated_source}).",
                             "The warranty usually ends at the rated TBW: plan its replacement.", evidence))
    return found


def _errors(row: DiskHealth, evidence: tuple[Evidence, ...]) -> list[Finding]:
    name, h = row.disk.name, row.health
    assert h is not None
    found = []
    if h.media_errors:
        found.append(Finding(Status.WARN, name, f"{h.media_errors} NVMe media errors: data the disk could not "
                             "read back (unrecovered ECC or CRC errors).",
                             "Check that the data on it is intact (ZFS: `zpool scrub`; else restore-test the "
                             "backups) and watch whether the count grows.", evidence))
    if h.reallocated_sectors:
        found.append(Finding(Status.WARN, name, f"{h.reallocated_sectors} reallocated sectors: the disk has "
                             "replaced sectors that went bad.",
                             "Watch the count: a number that keeps growing means the disk is failing.", evidence))
    if h.pending_sectors:
        found.append(Finding(Status.WARN, name, f"{h.pending_sectors} sectors pending reallocation: they could "
                             "not be read, and what was in them may be lost.",
                             "Run a long self-test (`smartctl -t long " + row.disk.path + "`); restore the files "
                             "on those sectors from backup.", evidence))
    if h.offline_uncorrectable:
        found.append(Finding(Status.WARN, name, f"{h.offline_uncorrectable} offline uncorrectable sectors.",
                             "Run a long self-test and check the data on the disk.", evidence))
    if h.crc_errors:
        found.append(Finding(Status.WARN, name, f"{h.crc_errors} interface CRC errors: data was corrupted on the "
                             "way between disk and controller, which points at the cable, the backplane or the "
                             "connector, not the disk.",
                             "Reseat or replace the SATA cable (or move the disk to another bay). The counter "
                             "never resets: note the number and check that it stops growing.", evidence))
    if h.grown_defects:
        found.append(Finding(Status.WARN, name, f"{h.grown_defects} entries in the grown defect list (blocks "
                             "remapped since the disk left the factory).",
                             "Watch the count: a number that keeps growing means the disk is failing.", evidence))
    return found


def _health_line(row: DiskHealth) -> str:
    h = row.health
    assert h is not None
    parts = []
    if row.percentage_used is not None:
        parts.append(f"{row.percentage_used} % of the rated life used")
    if h.data_written_bytes is not None:
        written = f"{_size(h.data_written_bytes)} written"
        if row.rated_bytes:
            written += f" ({100 * h.data_written_bytes // row.rated_bytes} % of the rated {_size(row.rated_bytes)})"
        parts.append(written)
    if h.power_on_hours is not None:
        parts.append(f"{h.power_on_hours:,} power-on hours ({_years(h.power_on_hours)})")
    if h.temperature_c is not None:
        parts.append(f"{h.temperature_c} °C")
    if h.passed is True:
        parts.insert(0, "SMART passed")
    return ", ".join(parts) or "nothing the disk reports is wrong"


def _years(hours: int) -> str:
    years = hours / (24 * 365.25)
    return f"{years:.1f} years" if years >= 1 else f"{hours / 24:.0f} days"


def _size(count: int) -> str:
    # Decimal units, as endurance ratings are given (TBW).
    return humanize.naturalsize(count)


def _smartd_finding(smartd: UnitState) -> Finding:
    evidence = (smartd.evidence,)
    if smartd.fact == "enabled":
        return Finding(Status.OK, "smartd", "smartd is enabled: it checks the disks between reports and reports "
                       "a disk that starts failing.", "", evidence)
    if smartd.fact == "disabled":
        return Finding(Status.WARN, "smartd", "smartd is installed but not enabled: between reports nobody "
                       "notices a disk that starts failing.", _SMARTD_ADVICE, evidence)
    if smartd.fact == "absent":
        return Finding(Status.WARN, "smartd", "No smartd unit: nothing watches the disks between reports.",
                       "Install smartmontools (`apt install smartmontools`). " + _SMARTD_ADVICE, evidence)
    return Finding(Status.OK, "smartd", "Whether smartd runs could not be told (no systemd here).",
                   "Check that your init system starts smartd.", evidence)


def _summary(rows: list[DiskHealth], smartd: UnitState) -> str:
    readable = [row for row in rows if row.health is not None]
    asleep = [row.disk.name for row in rows if row.identity and row.identity.asleep]
    parts = [f"{len(readable)} of {len(rows)} disk{'s' if len(rows) != 1 else ''} read"]
    worn = [f"{row.disk.name} {row.percentage_used} %" for row in readable if row.percentage_used is not None]
    if worn:
        parts.append("wear " + ", ".join(worn))
    if asleep:
        parts.append("asleep: " + ", ".join(asleep))
    if smartd.fact:
        parts.append(f"smartd {smartd.fact}")
    return "; ".join(parts)
