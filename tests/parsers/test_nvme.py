"""nvme id-ctrl JSON on a real nvme-cli 1.x output, the 2.x compact form, errors, and any JSON/text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.nvme import NvmeIdCtrl, parse_nvme_id_ctrl

DIR = FIXTURES / "nvme"


def test_real_id_ctrl_strips_padding_and_reads_oncs() -> None:
    ctrl = parse_nvme_id_ctrl((DIR / "id_ctrl-autoval-MZ1LB960HAJQ.json").read_text())
    assert ctrl.model == "Unknown MZ1LB960HAJQ-000FB"  # "mn" is space-padded to 40 bytes
    assert ctrl.serial == "S43ANA0M405593"
    assert ctrl.firmware == "EDA76F2Q"
    assert (ctrl.vendor_id, ctrl.version, ctrl.namespaces) == (5197, "1.2", 1)
    assert ctrl.oncs == 95 and ctrl.dataset_management is True
    assert ctrl.oncs_commands == ("compare", "write_uncorrectable", "dataset_management", "write_zeroes",
                                  "save_select_feature_nonzero", "timestamp")
    assert ctrl.total_capacity_bytes == 900185481216


def test_nvme_cli_2_compact_form_and_oncs_without_dsm() -> None:
    # nvme-cli 2.x prints '"oncs":94'; ONCS 0x1 (compare only) has no Dataset Management.
    assert parse_nvme_id_ctrl('{"mn":"X  ","fr":"1","sn":"s","oncs":94}').dataset_management is True
    ctrl = parse_nvme_id_ctrl('{"mn":"X","oncs":1,"ver":66560,"tnvmcap":"1000000000"}')
    assert ctrl.dataset_management is False and ctrl.oncs_commands == ("compare",)
    assert ctrl.version == "1.4" and ctrl.total_capacity_bytes == 1000000000


def test_missing_oncs_is_unknown() -> None:
    ctrl = parse_nvme_id_ctrl('{"mn": "M", "sn": "S", "fr": "F"}')
    assert ctrl.oncs is None and ctrl.dataset_management is None and ctrl.oncs_commands == ()


@pytest.mark.parametrize(
    "text",
    [
        # nvme-cli on this machine's virtio disk (stderr + usage on stdout)
        "/dev/vda: Operation not permitted\nUsage: nvme id-ctrl <device> [OPTIONS]\n",
        "",
        "{}",
        "[]",
        '{"vid": 1}',
    ],
)
def test_not_id_ctrl_json(text: str) -> None:
    with pytest.raises(ParseError):
        parse_nvme_id_ctrl(text)


@given(st.text())
def test_any_text_gives_data_or_parse_error(text: str) -> None:
    try:
        parse_nvme_id_ctrl(text)
    except ParseError:
        pass


_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_JSON = st.recursive(_LEAF, lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=30)


@given(_JSON)
def test_any_json_gives_data_or_parse_error(value: object) -> None:
    try:
        parse_nvme_id_ctrl(json.dumps(value))
    except ParseError:
        pass


@given(st.dictionaries(st.sampled_from(["mn", "sn", "fr", "oncs", "vid", "ssvid", "ver", "tnvmcap", "nn"]), _JSON))
def test_id_ctrl_keys_with_any_values(doc: dict) -> None:
    try:
        result = parse_nvme_id_ctrl(json.dumps(doc))
    except ParseError:
        return
    assert isinstance(result, NvmeIdCtrl)
    assert result.dataset_management in (None, True, False)
