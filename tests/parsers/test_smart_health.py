"""The health and wear fields of smartctl's JSON, on real captures (tests/fixtures/smartctl/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssdwizard.knowledge import wear_attribute_names
from ssdwizard.parsers.smart_health import is_asleep, parse_smart_health, power_mode, vendor_wear
from ssdwizard.parsers.smartctl import parse_smartctl_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "smartctl"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_ata_ssd_with_device_statistics():
    """Samsung 860 EVO, smartctl -x: the vendor-neutral statistics win over vendor attributes."""
    health = parse_smart_health(load("samsung-860evo-500gb-sat-x.json"))
    assert health.passed is True
    assert health.power_on_hours == 14551
    assert (health.temperature_c, health.temperature_limit_c) == (36, 70)
    assert health.percentage_used == 19
    assert health.percentage_used_source == "ata_device_statistics Percentage Used Endurance Indicator"
    assert health.data_written_bytes == 64777770148 * 512
    assert (health.reallocated_sectors, health.crc_errors, health.pending_sectors) == (0, 0, None)
    assert health.available_spare is None and health.critical_warning is None


def test_ata_ssd_without_statistics_uses_the_vendor_wear_attribute():
    """Intel DC S3500 (-a, no device statistics): 233 Media_Wearout_Indicator value 15 = 85 % used;
    Host_Writes_32MiB counts 32 MiB units."""
    health = parse_smart_health(json.loads((FIXTURES / "smartctl-16.txt").read_text()))
    assert health.percentage_used is None
    assert vendor_wear(health.attributes, wear_attribute_names()) == (
        85, "ata_smart_attributes 233 Media_Wearout_Indicator value 15")
    assert health.data_written_bytes == 62594010 * 32 * 2**20
    assert health.power_on_hours == 67329 and health.pending_sectors == 0


def test_reallocated_sectors_on_a_worn_hdd():
    health = parse_smart_health(load("ST3500418AS_12-realloc304.json"))
    assert health.reallocated_sectors == 304
    assert (health.pending_sectors, health.offline_uncorrectable, health.crc_errors) == (0, 0, 0)
    assert health.failing_attributes == ()
    assert health.data_written_bytes == 3022432698 * 512
    # a spinning disk has no wear attribute: nothing is made up
    assert vendor_wear(health.attributes, wear_attribute_names()) == (None, None)


@pytest.mark.parametrize(("name", "used", "written_units", "unsafe"), [
    ("intel-660p-ssdpeknw010t8-nvme-a.json", 0, 7773431, 43),
    ("nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json", 0, 1969459, 12),
])
def test_nvme_health_log(name, used, written_units, unsafe):
    health = parse_smart_health(load(name))
    assert health.percentage_used == used
    assert (health.available_spare, health.available_spare_threshold) == (100, 10)
    assert health.media_errors == 0 and health.critical_warning == 0 and health.critical_warnings == ()
    assert health.data_written_bytes == written_units * 512_000
    assert health.unsafe_shutdowns == unsafe


def test_sas_disk_temperature_trip_and_defects():
    health = parse_smart_health(load("megaraid,1-null-TOSHIBA_MG08SCA16TEY-0.json"))
    assert (health.temperature_c, health.temperature_limit_c) == (31, 65)
    assert health.grown_defects == 0 and health.passed is True


def test_critical_warning_bits_are_named():
    health = parse_smart_health({"nvme_smart_health_information_log": {"critical_warning": 0b1001 | 0x80}})
    assert health.critical_warnings == ("available spare has fallen below the threshold",
                                        "media has been placed in read-only mode", "unknown bits 0x80")


def test_percentage_used_over_100_is_kept():
    """The NVMe spec lets Percentage Used exceed 100; it is not clipped."""
    assert parse_smart_health({"nvme_smart_health_information_log": {"percentage_used": 255}}).percentage_used == 255


def test_a_sleeping_disk_is_told_apart_from_a_broken_one():
    asleep = parse_smartctl_json((FIXTURES / "handwritten-standby-from-source.json").read_text())
    assert asleep.power_mode == "STANDBY" and asleep.asleep and not asleep.data_usable
    broken = parse_smartctl_json((FIXTURES / "nonexistent-device.json").read_text())
    assert broken.power_mode is None and not broken.asleep and not broken.data_usable


@pytest.mark.parametrize(("text", "mode", "sleeps"), [
    # the message forms smartmontools prints (ataprint.cpp, scsiprint.cpp, smartctl.cpp)
    ("Device is in STANDBY mode, exit(2)", "STANDBY", True),
    ("/dev/sda: Device is in STANDBY (OS) mode, exit(2)", "STANDBY (OS)", True),
    ("Device is in SLEEP mode, exit(2)", "SLEEP", True),
    ("Device is in STANDBY BY COMMAND mode, exit(2)", "STANDBY BY COMMAND", True),
    ("Device is in IDLE_B mode, exit(2)", "IDLE_B", False),
    ("Smartctl open device: /dev/sdZZ [SAT] failed: No such device", None, False),
])
def test_power_mode_messages(text, mode, sleeps):
    data = {"smartctl": {"exit_status": 2, "messages": [{"string": text, "severity": "information"}]}}
    assert power_mode(data) == mode
    assert is_asleep(power_mode(data)) is sleeps


def test_power_mode_field_of_newer_smartctl():
    assert power_mode({"power_mode": {"ata_value": 0, "name": "STANDBY"}}) == "STANDBY"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["nvme_smart_health_information_log", "ata_smart_attributes",
                                        "ata_device_statistics", "temperature", "power_on_time", "smart_status",
                                        "smartctl", "power_mode", "logical_block_size"]), json_values, max_size=6))
def test_any_json_shape_gives_health_never_a_crash(data):
    health = parse_smart_health(data)
    assert health.percentage_used is None or health.percentage_used >= 0
    power_mode(data)
