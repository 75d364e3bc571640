"""nvme id-ns and smart-log JSON (nvme-cli 1.x and 2.x), id-ctrl's VWC, on real outputs and garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.nvme import (
    LbaFormat,
    NvmeIdNs,
    NvmeSmartLog,
    flbas_format_index,
    parse_nvme_id_ctrl,
    parse_nvme_id_ns,
    parse_nvme_smart_log,
)

DIR = FIXTURES / "nvme"


def _id_ns_2811(flbas: int) -> str:
    # nvme-cli#2811 printed only `jq ".lbafs"`; its `--verbose` text output (the .txt next to
    # it) marks LBA Format 1 "(in use)", so the flbas is 1.
    return '{"flbas":%d,"nsze":1000,"lbafs":%s}' % (flbas, (DIR / "id_ns-lbafs-nvme-cli-2811.json").read_text())


def test_real_lbafs_in_use_and_best() -> None:
    ns = parse_nvme_id_ns(_id_ns_2811(1))
    assert ns.in_use == LbaFormat(index=1, data_bytes=512, metadata_bytes=8, relative_performance=3)
    assert ns.in_use.performance == "degraded"
    # Format 2 (ms 0, 4096, rp 0 "Best") beats format 0 (ms 0, 512, rp 1 "Better").
    assert ns.best == LbaFormat(index=2, data_bytes=4096, metadata_bytes=0, relative_performance=0)
    assert [f.data_bytes for f in ns.formats] == [512, 512, 4096, 4096, 4096]
    assert [f.metadata_bytes for f in ns.formats] == [0, 8, 0, 8, 64]
    assert ns.better_format_available is True
    assert ns.size_bytes == 1000 * 512


def test_verbose_text_agrees_with_the_json() -> None:
    """The two real outputs of nvme-cli#2811 describe the same formats: check the pairing."""
    lines = (DIR / "id_ns-nvme-cli-2811-verbose.txt").read_text().splitlines()
    ns = parse_nvme_id_ns(_id_ns_2811(1))
    for fmt, line in zip(ns.formats, lines):
        assert f"Metadata Size: {fmt.metadata_bytes} " in line
        assert f"Data Size: {fmt.data_bytes} bytes" in line
    assert ns.in_use is not None and "(in use)" in lines[ns.in_use.index]
    assert sum("(in use)" in line for line in lines) == 1


def test_formatted_with_the_best_format_needs_nothing() -> None:
    ns = parse_nvme_id_ns(_id_ns_2811(2))
    assert ns.in_use == ns.best and ns.better_format_available is False
    assert ns.size_bytes == 1000 * 4096


def test_real_nvme_cli_1x_spacing() -> None:
    # nvme-cli#959: 1.x ' : ' spacing; its text output says "lbaf 0 : ms:0 lbads:9 rp:0 (in use)".
    fragment = (DIR / "id_ns-lbafs-nvme-cli-959.txt").read_text()
    ns = parse_nvme_id_ns('{\n  "flbas" : 0,\n' + fragment + "}\n")
    assert ns.in_use == LbaFormat(index=0, data_bytes=512, metadata_bytes=0, relative_performance=0)
    assert ns.best == ns.in_use and ns.better_format_available is False
    assert ns.size_blocks is None and ns.size_bytes is None


@pytest.mark.parametrize(
    ("flbas", "index"),
    [(0x00, 0), (0x01, 1), (0x10, 0), (0x12, 2), (0x0F, 15), (0x20, 16), (0x61, 49), (0x7F, 63)],
)
def test_flbas_index_uses_bits_3_0_and_6_5(flbas: int, index: int) -> None:
    # Bit 4 is "metadata at the end of the LBA", not part of the index (libnvme's helper).
    assert flbas_format_index(flbas) == index


def test_extended_metadata_bit_does_not_change_the_format() -> None:
    in_use = parse_nvme_id_ns(_id_ns_2811(0x11)).in_use
    assert in_use is not None and in_use.index == 1


def test_in_use_marker_of_newer_nvme_cli_when_flbas_is_missing() -> None:
    ns = parse_nvme_id_ns('{"nsze":8,"lbafs":[{"lbaf":0,"ms":0,"ds":9,"rp":2,"in_use":0},'
                          '{"lbaf":1,"ms":0,"ds":12,"rp":0,"in_use":1}]}')
    assert ns.flbas is None and ns.in_use is not None and ns.in_use.index == 1


def test_tie_on_performance_goes_to_the_larger_sector() -> None:
    ns = parse_nvme_id_ns('{"flbas":0,"lbafs":[{"ms":0,"ds":9,"rp":0},{"ms":0,"ds":12,"rp":0}]}')
    assert ns.best is not None and ns.best.index == 1 and ns.better_format_available is True


def test_only_metadata_formats_have_no_best() -> None:
    ns = parse_nvme_id_ns('{"flbas":0,"lbafs":[{"ms":8,"ds":9,"rp":0}]}')
    assert ns.best is None and ns.better_format_available is None and ns.in_use is not None


def test_impossible_descriptors_are_left_out() -> None:
    # LBADS 0 (unused slot), LBADS 8 (< 512 bytes), RP 4, negative MS: none is a real format.
    ns = parse_nvme_id_ns('{"flbas":0,"lbafs":[{"ms":0,"ds":0,"rp":0},{"ms":0,"ds":8,"rp":0},'
                          '{"ms":0,"ds":12,"rp":4},{"ms":-1,"ds":12,"rp":0},{"ms":0,"ds":12,"rp":1}]}')
    assert [f.index for f in ns.formats] == [4]
    assert ns.in_use is None  # flbas points at the unused slot 0


@pytest.mark.parametrize(
    "text",
    ["/dev/nvme0n1: Invalid argument\n", "", "{}", "[]", '{"mn": "X"}', "null", '"lbafs"',
     (DIR / "id_ns-lbafs-nvme-cli-2811.json").read_text()],  # the bare lbafs array is not id-ns
)
def test_not_id_ns_json(text: str) -> None:
    with pytest.raises(ParseError):
        parse_nvme_id_ns(text)


_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_JSON = st.recursive(_LEAF, lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=30)


@given(st.dictionaries(st.sampled_from(["flbas", "nsze", "ncap", "nuse", "lbafs"]), _JSON))
def test_id_ns_keys_with_any_values(doc: dict) -> None:
    try:
        ns = parse_nvme_id_ns(json.dumps(doc))
    except ParseError:
        return
    assert isinstance(ns, NvmeIdNs)
    assert ns.in_use is None or ns.in_use in ns.formats
    assert ns.better_format_available in (None, True, False)


@given(st.text())
def test_any_text_gives_id_ns_or_parse_error(text: str) -> None:
    try:
        parse_nvme_id_ns(text)
    except ParseError:
        pass


# --- smart-log ------------------------------------------------------------------------------


def test_real_smart_log_autoval() -> None:
    log = parse_nvme_smart_log((DIR / "smart_log-autoval.json").read_text())
    assert log.temperature_kelvin == 306 and log.temperature_celsius == 33
    assert (log.available_spare, log.available_spare_threshold, log.percent_used) == (100, 10, 0)
    assert log.data_units_written == 47217872
    assert log.data_written_bytes == 47217872 * 512_000  # about 24.2 TB
    assert (log.power_on_hours, log.unsafe_shutdowns, log.media_errors, log.error_log_entries) == (1244, 52, 0, 0)
    assert log.spare_below_threshold is False
    # The fixture spells the key "critical_warrning" (sic): not the key nvme-cli prints, so unknown.
    assert log.critical_warning is None and log.critical_warnings == ()


def test_nvme_cli_2x_compact_and_critical_warning_bits() -> None:
    log = parse_nvme_smart_log('{"critical_warning":5,"temperature":320,"avail_spare":4,'
                               '"spare_thresh":10,"percent_used":104,"data_units_written":1}')
    assert log.critical_warnings == ("spare_below_threshold", "reliability_degraded")
    assert log.temperature_celsius == 47 and log.percent_used == 104
    assert log.spare_below_threshold is True and log.data_written_bytes == 512_000
    assert log.power_on_hours is None and log.media_errors is None


def test_human_readable_critical_warning_object_and_float_counters() -> None:
    # nvme-cli 2.x -H prints critical_warning as an object; some builds print counters as floats.
    log = parse_nvme_smart_log('{"critical_warning":{"value":8,"available_spare":0,"ro":1},'
                               '"power_on_hours":38313.0,"media_errors":"17","percentage_used":3}')
    assert log.critical_warning == 8 and log.critical_warnings == ("read_only",)
    assert log.power_on_hours == 38313 and log.media_errors == 17 and log.percent_used == 3


def test_zero_kelvin_is_not_reported() -> None:
    log = parse_nvme_smart_log('{"temperature":0,"avail_spare":100}')
    assert log.temperature_kelvin is None and log.temperature_celsius is None


@pytest.mark.parametrize(
    "text",
    ["", "{}", "[1]", '{"mn":"X"}', "smart log: Input/output error\n",
     (DIR / "wdc-sn730-256g-id-ctrl.json").read_text()],
)
def test_not_smart_log_json(text: str) -> None:
    with pytest.raises(ParseError):
        parse_nvme_smart_log(text)


@given(st.dictionaries(st.sampled_from(["critical_warning", "temperature", "avail_spare", "spare_thresh",
                                        "percent_used", "data_units_written", "power_on_hours",
                                        "media_errors", "unsafe_shutdowns", "num_err_log_entries"]), _JSON))
def test_smart_log_keys_with_any_values(doc: dict) -> None:
    try:
        log = parse_nvme_smart_log(json.dumps(doc))
    except ParseError:
        return
    assert isinstance(log, NvmeSmartLog)
    assert log.spare_below_threshold in (None, True, False)
    assert log.data_written_bytes is None or log.data_written_bytes >= 0


# --- id-ctrl VWC ----------------------------------------------------------------------------


def test_real_id_ctrl_volatile_write_cache() -> None:
    wdc = parse_nvme_id_ctrl((DIR / "wdc-sn730-256g-id-ctrl.json").read_text())
    assert wdc.vwc == 7 and wdc.volatile_write_cache is True  # "vwc" : 7
    samsung = parse_nvme_id_ctrl((DIR / "id_ctrl-autoval-MZ1LB960HAJQ.json").read_text())
    assert samsung.vwc == 0 and samsung.volatile_write_cache is False  # "vwc" : 0: no volatile write cache


def test_vwc_missing_or_out_of_range_is_unknown() -> None:
    assert parse_nvme_id_ctrl('{"mn":"X"}').volatile_write_cache is None
    assert parse_nvme_id_ctrl('{"mn":"X","vwc":256}').vwc is None
    assert parse_nvme_id_ctrl('{"mn":"X","vwc":true}').vwc is None
