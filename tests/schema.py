"""A checker for the JSON report, schema 1, written from DESIGN §3.2 (no dependency needed)."""

from __future__ import annotations

STATUSES = {"ok", "warn", "fail", "skip", "error"}
DISK_FACTS = {"name", "path", "model", "serial", "firmware", "size_bytes", "transport", "rotational", "ssd",
              "trim_supported", "sata_max_gbps", "sata_link_gbps", "scheduler", "schedulers", "quirks",
              "firmware_warnings", "iops"}


def _expect(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise AssertionError(f"{where}: {what}")


def _optional(value, kinds) -> bool:
    return value is None or isinstance(value, kinds)


def validate_report(report: dict) -> None:
    """Raise AssertionError naming the first place the report breaks the contract."""
    _expect(set(report) == {"tool", "version", "schema", "machine", "status", "steps"}, "report", f"keys {sorted(report)}")
    _expect(report["tool"] == "ssdwizard" and report["schema"] == 1, "report", "tool/schema")
    _expect(isinstance(report["version"], str), "report", "version")
    machine = report["machine"]
    _expect(set(machine) == {"hostname", "kernel", "profile"}, "machine", f"keys {sorted(machine)}")
    _expect(all(_optional(v, str) for v in machine.values()), "machine", "values are strings or null")
    _expect(report["status"] in STATUSES, "report", "status")
    worst = {"ok": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3}
    for step in report["steps"]:
        where = f"step {step.get('id')}"
        _expect(set(step) == {"id", "title", "status", "summary", "findings", "facts", "plan"}, where, f"keys {sorted(step)}")
        _expect(step["status"] in STATUSES and isinstance(step["summary"], str), where, "status/summary")
        _expect(worst[step["status"]] <= worst[report["status"]], where, "report status is not the worst step status")
        _expect(step["plan"] is None or isinstance(step["plan"].get("changes"), list), where, "plan")
        for finding in step["findings"]:
            _expect(set(finding) == {"status", "subject", "message", "advice", "evidence"}, where, f"finding {finding}")
            _expect(finding["status"] in STATUSES, where, "finding status")
            for evidence in finding["evidence"]:
                _expect(set(evidence) == {"source", "excerpt"}, where, "evidence keys")
        _expect(isinstance(step["facts"], dict), where, "facts")
        if step["id"] == "disks" and step["status"] != "error":
            for disk in step["facts"]["disks"]:
                _expect(set(disk) == DISK_FACTS, where, f"disk fact keys {sorted(set(disk) ^ DISK_FACTS)}")
                _expect(isinstance(disk["name"], str) and disk["path"].startswith("/dev/"), where, "name/path")
                _expect(_optional(disk["size_bytes"], int), where, "size_bytes")
                for flag in ("rotational", "ssd", "trim_supported"):
                    _expect(_optional(disk[flag], bool), where, flag)
                for speed in ("sata_max_gbps", "sata_link_gbps"):
                    _expect(_optional(disk[speed], float), where, speed)
                _expect(isinstance(disk["schedulers"], list), where, "schedulers")
                for listed in ("quirks", "firmware_warnings"):
                    _expect(_optional(disk[listed], list), where, listed)
        if step["id"] == "health" and step["status"] != "error":
            _expect(set(step["facts"]) == {"disks", "smartd"}, where, f"health fact keys {sorted(step['facts'])}")
            _expect(step["facts"]["smartd"] in (None, "enabled", "disabled", "absent"), where, "smartd")
            for disk in step["facts"]["disks"]:
                _expect(set(disk) == HEALTH_FACTS, where, f"health disk keys {sorted(set(disk) ^ HEALTH_FACTS)}")
                _expect(_optional(disk["smart_passed"], bool), where, "smart_passed")
                _expect(_optional(disk["power_mode"], str), where, "power_mode")
                for counter in HEALTH_FACTS - {"name", "smart_passed", "power_mode"}:
                    _expect(_optional(disk[counter], int) and not isinstance(disk[counter], bool), where, counter)


HEALTH_FACTS = {"name", "power_mode", "smart_passed", "power_on_hours", "temperature_c", "percentage_used",
                "available_spare", "available_spare_threshold", "media_errors", "critical_warning", "unsafe_shutdowns",
                "data_written_bytes", "rated_endurance_bytes", "reallocated_sectors", "pending_sectors",
                "offline_uncorrectable", "crc_errors", "grown_defects"}
