"""Kernel logs in every shape (dmesg, grep, syslog, journal) against labels.toml, and any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.dmesg import DmesgLog, DmesgUnavailable, parse_dmesg, strip_prefix

DIR = FIXTURES / "dmesg"
LABELS = read_toml(DIR / "labels.toml")["dmesg"]
SAMPLES = sorted(LABELS)


def _parse(name: str) -> DmesgLog:
    result = parse_dmesg((DIR / f"{name}.txt").read_text())
    assert isinstance(result, DmesgLog)
    return result


@pytest.mark.parametrize("name", SAMPLES)
def test_ahci_presence_and_mode_match_labels(name: str) -> None:
    log, label = _parse(name), LABELS[name]
    assert log.ahci_present is label["ahci_present"]
    modes = {f"{c.mode} mode" for c in log.controllers}
    assert modes == (set() if label["ahci_mode"] == "none" else {label["ahci_mode"]})
    if "controller_gbps" in label:
        assert {c.gbps for c in log.controllers} == {label["controller_gbps"]}
    assert log.legacy_ide is label.get("legacy_ide_mode", False)
    assert log.nvme_seen is label.get("nvme_present", False)


@pytest.mark.parametrize("name", [n for n in SAMPLES if "controllers" in LABELS[n]])
def test_controllers_match_labels(name: str) -> None:
    got = [
        {"pci": c.pci, "version": c.version, "gbps": c.gbps, "mode": f"{c.mode} mode",
         "ports_implemented": c.ports_implemented, "ports_total": c.ports_total,
         "port_map": f"{c.port_map:#x}"}
        for c in _parse(name).controllers
    ]
    assert got == LABELS[name]["controllers"]


@pytest.mark.parametrize("name", ["dmesg-02", "dmesg-12"])
def test_single_controller_details_match_labels(name: str) -> None:
    label = LABELS[name]
    (ctrl,) = _parse(name).controllers
    assert ctrl.version == label["ahci_version"]
    assert f"{ctrl.port_map:#x}" == label["port_map"]
    assert ctrl.ports_total == label.get("ports", label.get("ports_total"))
    assert ctrl.slots == 32 and "ncq" in ctrl.flags


@pytest.mark.parametrize("name", SAMPLES)
def test_links_in_order_match_labels(name: str) -> None:
    got = [(link.port, link.gbps if link.up else 0.0) for link in _parse(name).links]
    assert got == [(link["port"], link["gbps"]) for link in LABELS[name]["links"]]


def test_marvell_ports_are_not_ahci_ports() -> None:
    log = _parse("dmesg-02")
    drivers = {link["port"]: link["driver"] for link in LABELS["dmesg-02"]["links"]}
    assert {p.port: p.driver for p in log.ports} == drivers
    assert log.port("ata5") is not None and log.port("ata5").pci == "0000:00:1f.2"  # type: ignore[union-attr]


def test_ports_belong_to_the_controller_announced_before_them() -> None:
    log = _parse("dmesg-06")
    assert log.port("ata1").pci == "0000:01:00.1"  # type: ignore[union-attr]
    assert log.port("ata14").pci == "0000:0d:00.0"  # type: ignore[union-attr]
    assert log.port("ata9").kind == "DUMMY"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", [n for n in SAMPLES if "devices" in LABELS[n]])
def test_identity_lines_tie_ports_to_models(name: str) -> None:
    got = {d.port: " ".join(d.model.split()) + (" (ATAPI)" if d.atapi else "") for d in _parse(name).devices}
    assert got == LABELS[name]["devices"]


def test_identity_line_carries_firmware_and_ncq() -> None:
    log = _parse("dmesg-06")
    dev = next(d for d in log.devices if d.port == "ata14")
    assert (dev.kind, dev.model, dev.firmware, dev.max_mode) == ("ATA-9", "Samsung SSD 850 PRO 1TB", "EXM04B6Q", "UDMA/133")
    assert dev.ncq_depth == 32 and dev.sectors == 2000409264


def test_external_port_flag() -> None:
    log = _parse("dmesg-12")
    assert log.port("ata8").external and not log.port("ata1").external  # type: ignore[union-attr]


def test_restricted_dmesg_captured_on_this_machine() -> None:
    result = parse_dmesg((DIR / "local-restricted.stderr.txt").read_text())
    assert isinstance(result, DmesgUnavailable) and result.reason == "restricted"
    assert "Operation not permitted" in result.message


def test_empty_log_is_unavailable_not_an_error() -> None:
    assert parse_dmesg("") == DmesgUnavailable(reason="empty", message="the kernel log was empty")


def test_virtio_vm_captured_on_this_machine_has_no_ahci_and_is_not_legacy() -> None:
    log = _parse_local("local-virtio.txt")
    assert not log.ahci_present and not log.legacy_ide and log.controllers == () and log.links == ()


def _parse_local(name: str) -> DmesgLog:
    result = parse_dmesg((DIR / name).read_text())
    assert isinstance(result, DmesgLog)
    return result


def test_quirk_line_names_the_quirks() -> None:
    # The line format of ata_dev_print_quirks() (drivers/ata/libata-core.c, Linux 6.10+):
    # "Model '%s', rev '%s', applying quirks:%s" with " name" per quirk. No corpus sample has it.
    text = (
        "[    1.700000] ata1: SATA link up 6.0 Gbps (SStatus 133 SControl 300)\n"
        "[    1.700100] ata1.00: Model 'Samsung SSD 860 EVO 500GB', rev 'RVT04B6Q', applying quirks: noncqtrim zeroaftertrim\n"
        "[    1.700200] ata1.00: ATA-11: Samsung SSD 860 EVO 500GB, RVT04B6Q, max UDMA/133\n"
    )
    log = parse_dmesg(text)
    assert isinstance(log, DmesgLog)
    (quirk,) = log.quirks
    assert (quirk.device, quirk.model, quirk.revision) == ("ata1.00", "Samsung SSD 860 EVO 500GB", "RVT04B6Q")
    assert quirk.quirks == ("noncqtrim", "zeroaftertrim")
    assert log.devices[0].quirks == ("noncqtrim", "zeroaftertrim")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Jan 23 00:06:35 earth kernel: [    1.235663] ahci 0000:00:1f.2: x", "ahci 0000:00:1f.2: x"),
        ("Nov 21 18:52:53 BM5220 kernel: ata1: SATA link down", "ata1: SATA link down"),
        ("[0.409849] nvme nvme0: pci function 0001:01:00.0", "nvme nvme0: pci function 0001:01:00.0"),
        ("2024-11-21T18:52:53+0100 host kernel: ata1: y", "ata1: y"),
        ("ata1: no prefix", "ata1: no prefix"),
    ],
)
def test_prefixes_are_stripped(line: str, message: str) -> None:
    assert strip_prefix(line) == message


def test_timestamps_do_not_matter() -> None:
    with_stamps = (DIR / "dmesg-06.txt").read_text()
    without = "\n".join(line.split("] ", 1)[1] for line in with_stamps.splitlines())
    assert parse_dmesg(without) == parse_dmesg(with_stamps)


@given(st.text())
def test_any_text_gives_data_or_parse_error(text: str) -> None:
    try:
        parse_dmesg(text)
    except ParseError:
        pass


@given(st.sampled_from(SAMPLES), st.data())
def test_shuffled_and_cut_real_logs_give_data_or_parse_error(name: str, data: st.DataObject) -> None:
    lines = (DIR / f"{name}.txt").read_text().splitlines()
    kept = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines)))
    cut = data.draw(st.integers(min_value=0, max_value=80))
    try:
        parse_dmesg("\n".join(line[:cut] if i % 2 else line for i, line in enumerate(kept)))
    except ParseError:
        pass
