"""smartctl --json on real outputs (SATA SSD, NVMe, SAS behind MegaRAID, errors) and any JSON/text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.smartctl import SmartctlExitStatus, parse_smartctl_json

DIR = FIXTURES / "smartctl"
LABEL = read_toml(DIR / "labels.toml")["smartctl"]["smartctl-16"]


def _read(name: str) -> str:
    return (DIR / name).read_text()


def test_sata_ssd_matches_labels() -> None:
    r = parse_smartctl_json(_read("smartctl-16.txt"))
    assert (r.model_name, r.model_family, r.serial_number, r.firmware_version) == (
        LABEL["model"], LABEL["model_family"], LABEL["serial"], LABEL["firmware"])
    assert r.sata_version == LABEL["sata_version"] and r.sata_version_gbps == 6.0
    assert r.interface_max_gbps == LABEL["sata_version_max_gbps"]
    assert r.interface_current_gbps == LABEL["sata_current_gbps"]
    assert (r.trim_supported, r.trim_deterministic, r.trim_zeroed) == (
        LABEL["trim_supported"], LABEL["trim_deterministic"], LABEL["trim_zeroed"])
    assert r.rotation_rate == 0 and r.rotational is False  # label: "Solid State Device"
    assert r.form_factor == LABEL["form_factor"]
    assert (r.logical_block_size, r.physical_block_size) == (LABEL["logical_sector_bytes"], LABEL["physical_sector_bytes"])
    assert r.capacity_bytes == LABEL["capacity_bytes"]
    assert r.smart_passed is LABEL["health_passed"]
    assert r.smartctl_version == LABEL["smartctl_version"]
    assert (r.protocol, r.device_type, r.is_nvme) == ("ATA", "sat", False)
    assert r.exit_status == SmartctlExitStatus(0) and r.data_usable


def test_nvme_reports_protocol_and_no_sata_fields() -> None:
    r = parse_smartctl_json(_read("nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json"))
    assert (r.protocol, r.device_type, r.is_nvme) == ("NVMe", "nvme", True)
    assert r.model_name == "Samsung SSD 970 EVO Plus 250GB"
    assert r.rotation_rate is None and r.rotational is False
    assert r.sata_version is None and r.interface_max_gbps is None and r.max_gbps is None
    # this capture was made without -x, so the optional-command table is absent: unknown, not False
    assert r.trim_supported is None and r.nvme_dataset_management is None
    assert r.capacity_bytes == 250059350016


def test_sas_disk_behind_megaraid() -> None:
    r = parse_smartctl_json(_read("megaraid,1-null-TOSHIBA_MG08SCA16TEY-0.json"))
    assert (r.protocol, r.device_type) == ("SCSI", "megaraid,1")
    assert r.rotation_rate == 7200 and r.rotational is True
    assert r.firmware_version is None and r.trim_supported is None
    assert r.physical_block_size == 4096


@pytest.mark.parametrize("name", ["nonexistent-device.json", "local-vda-virtio.json"])
def test_unable_to_detect_device_type(name: str) -> None:
    r = parse_smartctl_json(_read(name))
    assert r.exit_status is not None and r.exit_status.value == 1
    assert r.exit_status.command_line_error and not r.data_usable
    assert any("Unable to detect device type" in text for text in r.errors)
    assert r.model_name is None and r.rotational is None


def test_health_bits_keep_the_data_usable() -> None:
    # A real -x JSON with bits 2 and 6 set (a failed log read, errors in the error log): the
    # disk facts are still good. Built from the SATA fixture by changing only exit_status.
    data = json.loads(_read("smartctl-16.txt"))
    data["smartctl"]["exit_status"] = 0b0100_0100
    r = parse_smartctl_json(json.dumps(data))
    assert r.data_usable and r.model_name == LABEL["model"]
    assert r.exit_status is not None
    assert r.exit_status.command_failed and r.exit_status.error_log_has_errors
    assert not r.exit_status.disk_failing and len(r.exit_status.meanings) == 2


def test_open_failed_bit() -> None:
    status = SmartctlExitStatus(2)
    assert status.open_failed and not status.data_usable


def test_nvme_optional_commands_and_speed_string_fallback() -> None:
    # Key shapes as smartctl 7.4+ prints them (nvme_optional_nvm_commands) and an
    # interface_speed object that carries only its string.
    doc = {
        "smartctl": {"exit_status": 0},
        "device": {"protocol": "NVMe", "type": "nvme"},
        "nvme_optional_nvm_commands": {"value": 94, "dataset_management": True},
        "interface_speed": {"max": {"string": "6.0 Gb/s"}, "current": {"string": "3.0 Gb/s"}},
    }
    r = parse_smartctl_json(json.dumps(doc))
    assert r.nvme_dataset_management is True
    assert (r.interface_max_gbps, r.interface_current_gbps) == (6.0, 3.0)


@pytest.mark.parametrize("text", ["", "smartctl 7.3 2022-02-28 r5338", "[1, 2]", '{"model_name": "x"}', "{"])
def test_not_smartctl_json(text: str) -> None:
    with pytest.raises(ParseError):
        parse_smartctl_json(text)


@given(st.text())
def test_any_text_gives_data_or_parse_error(text: str) -> None:
    try:
        parse_smartctl_json(text)
    except ParseError:
        pass


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
_KEYS = st.sampled_from(["smartctl", "exit_status", "messages", "string", "severity", "device", "protocol",
                         "trim", "supported", "interface_speed", "max", "current", "bits_per_unit",
                         "units_per_second", "sata_version", "rotation_rate", "model_name", "user_capacity",
                         "bytes", "nvme_optional_nvm_commands", "dataset_management", "version"])
_SMARTISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=40,
)


@given(_JSON)
def test_any_json_gives_data_or_parse_error(value: object) -> None:
    try:
        parse_smartctl_json(json.dumps(value))
    except ParseError:
        pass


@given(st.dictionaries(_KEYS, _SMARTISH, max_size=8), _SMARTISH)
def test_smartctl_shaped_json_with_wrong_types_never_crashes(doc: dict, smartctl: object) -> None:
    doc["smartctl"] = smartctl
    try:
        parse_smartctl_json(json.dumps(doc))
    except ParseError:
        pass
