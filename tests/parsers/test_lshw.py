"""lshw storage controllers: JSON (this machine, old concatenated form) and pasted trees (corpus)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.lshw import parse_lshw, parse_lshw_json, parse_lshw_text

DIR = FIXTURES / "lshw"
LABELS = read_toml(DIR / "labels.toml")["lshw"]
SAMPLES = sorted(LABELS)


@pytest.mark.parametrize("name", SAMPLES)
def test_pasted_trees_match_labels(name: str) -> None:
    storage = parse_lshw_text((DIR / f"{name}.txt").read_text())
    got = [
        {"node": c.id, "description": c.description, "product": c.product, "vendor": c.vendor,
         "bus_info": c.businfo, "driver": c.driver, "ahci_capability": c.ahci_capability,
         "mode": "AHCI" if c.kind == "ahci" else "IDE"}
        for c in storage.controllers
    ]
    assert got == LABELS[name]["controllers"]


def test_ahci_controller_described_as_ide_is_classified_by_driver() -> None:
    (ctrl,) = parse_lshw((DIR / "lshw-06.txt").read_text()).controllers
    assert ctrl.description == "IDE interface" and ctrl.kind == "ahci" and ctrl.pci == "0000:00:09.0"


def test_json_captured_on_this_machine() -> None:
    storage = parse_lshw((DIR / "local-virtio.json").read_text())
    (ctrl,) = storage.controllers
    assert (ctrl.pci, ctrl.driver, ctrl.kind) == ("0000:00:02.0", "virtio-pci", "virtio")
    assert ctrl.product == "Virtio 1.0 block device" and ctrl.vendor == "Red Hat, Inc."
    assert "msix" in ctrl.capabilities


def test_old_lshw_sequence_without_list_and_trailing_commas() -> None:
    # Old lshw -json: objects one after another, a trailing comma after the last member and
    # after each object. Content of this machine's node, laid out the old way.
    node = json.loads((DIR / "local-virtio.json").read_text())[0]
    ahci = dict(node, id="storage:1", businfo="pci@0000:00:1f.2", configuration={"driver": "ahci"},
                capabilities={"storage": True, "ahci_1.0": True})
    old = json.dumps(node, indent=2)[:-2] + ",\n}," + "\n" + json.dumps(ahci, indent=2) + ",\n"
    storage = parse_lshw_json(old)
    assert [c.driver for c in storage.controllers] == ["virtio-pci", "ahci"]
    assert storage.by_driver("ahci")[0].ahci_capability and storage.by_driver("ahci")[0].pci == "0000:00:1f.2"


def test_nested_children_and_non_storage_nodes() -> None:
    doc = {"id": "pci", "class": "bridge", "children": [
        {"id": "nvme", "class": "storage", "businfo": "pci@0000:01:00.0", "configuration": {"driver": "nvme"},
         "logicalname": "/dev/nvme0"},
        {"id": "network", "class": "network", "configuration": {"driver": "e1000e"}}]}
    (ctrl,) = parse_lshw_json(json.dumps(doc)).controllers
    assert (ctrl.kind, ctrl.logical_names) == ("nvme", ("/dev/nvme0",))


def test_empty_list_is_no_controllers() -> None:
    assert parse_lshw_json("[]").controllers == ()


@pytest.mark.parametrize("text", ["", "garbage", "{\"a\": 1}", "[1, 2]", "{"])
def test_not_lshw(text: str) -> None:
    with pytest.raises(ParseError):
        parse_lshw(text)


@given(st.text())
def test_any_text_gives_data_or_parse_error(text: str) -> None:
    for parse in (parse_lshw, parse_lshw_json, parse_lshw_text):
        try:
            parse(text)
        except ParseError:
            pass


_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_KEYS = st.sampled_from(["id", "class", "children", "configuration", "driver", "capabilities", "businfo",
                         "logicalname", "product", "vendor", "storage"]) | st.text(max_size=4)
_JSON = st.recursive(_LEAF, lambda c: st.lists(c, max_size=4) | st.dictionaries(_KEYS, c, max_size=6),
                     max_leaves=40)


@given(_JSON)
def test_any_json_gives_data_or_parse_error(value: object) -> None:
    try:
        parse_lshw_json(json.dumps(value))
    except ParseError:
        pass
