"""lsblk JSON on real outputs from two util-linux generations, and on anything at all."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.lsblk import parse_lsblk_json, parse_size


def test_util_linux_2_38_output_all_from_a_vm():
    devices = parse_lsblk_json((FIXTURES / "lsblk" / "vm-virtio-zram-output-all.json").read_text())
    by_name = {d.name: d for d in devices}
    vda = by_name["vda"]
    assert (vda.type, vda.rotational, vda.transport, vda.model) == ("disk", True, None, None)
    assert vda.size_bytes == 274877906944
    assert vda.discard_max_bytes == 1073741824 and vda.discard_granularity == 4096
    assert vda.scheduler == "mq-deadline"
    assert vda.subsystems == "block:virtio:pci"
    assert by_name["zram0"].size_bytes == 0 and by_name["zram0"].rotational is False


def test_old_util_linux_prints_strings_and_padded_vendor():
    (sda,) = parse_lsblk_json((FIXTURES / "lsblk" / "lsblk-06-strings.json").read_text())
    assert (sda.model, sda.serial, sda.vendor) == ("HGST HTS725050A7", "TF0500WE0GAV0V", "ATA")
    assert sda.size_bytes == 500107862016
    assert [c.name for c in sda.children] == ["sda1", "sda2", "sda3", "sda5", "sda6"]
    assert sda.children[0].mountpoints == ("/boot",)
    assert sda.rotational is None  # the sample did not ask for ROTA: unknown, not a default
    assert [d.name for d in sda.walk()][:2] == ["sda", "sda1"]


def test_sizes_in_every_form_lsblk_has_printed():
    assert parse_size(512) == 512
    assert parse_size("500107862016") == 500107862016
    assert parse_size("4K") == 4096
    assert parse_size("465.8G") == int(465.8 * 1024**3)
    assert parse_size("1,5T") == int(1.5 * 1024**4)
    assert parse_size("n/a") is None and parse_size(None) is None and parse_size(True) is None
    assert parse_size("9" * 400) is None


def test_not_lsblk_output_is_a_parse_error():
    for text in ("", "lsblk: unknown column", "[]", '{"blockdevices": 3}', '{"blockdevices": [{"type": "disk"}]}',
                 '{"blockdevices": [1]}'):
        try:
            parse_lsblk_json(text)
        except ParseError:
            continue
        raise AssertionError(f"accepted {text!r}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "size", "rota", "children", "tran", "disc-max", "mountpoints", "model", "x"]),
        children, max_size=6),
    max_leaves=30,
)


@given(st.dictionaries(st.just("blockdevices"), st.lists(json_values, max_size=4)))
def test_any_json_gives_devices_or_a_parse_error(data):
    try:
        parse_lsblk_json(json.dumps(data))
    except ParseError:
        pass


@given(st.text(max_size=200))
def test_any_text_gives_devices_or_a_parse_error(text):
    try:
        parse_lsblk_json(text)
    except ParseError:
        pass
