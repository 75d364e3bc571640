"""hdparm -I on real pasted outputs (labels.toml ground truth), real error texts, and any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.hdparm import HdparmInfo, HdparmUnavailable, parse_hdparm

DIR = FIXTURES / "hdparm"
LABELS = read_toml(DIR / "labels.toml")["hdparm-I"]
SAMPLES = sorted(LABELS)


def _parse(name: str) -> HdparmInfo:
    result = parse_hdparm((DIR / f"{name}.txt").read_text())
    assert isinstance(result, HdparmInfo)
    return result


@pytest.mark.parametrize("name", SAMPLES)
def test_identity_matches_labels(name: str) -> None:
    info, label = _parse(name), LABELS[name]
    assert (info.model, info.serial, info.firmware) == (label["model"], label["serial"], label["firmware"])


@pytest.mark.parametrize("name", SAMPLES)
def test_speeds_match_labels(name: str) -> None:
    """Transport revisions -> max Gbit/s; absent in the label means the parser must say None."""
    info, label = _parse(name), LABELS[name]
    assert info.sata_max_gbps == label.get("sata_max_gbps")
    assert info.gen_signaling_max_gbps == label.get("gen_signaling_max_gbps")


@pytest.mark.parametrize("name", SAMPLES)
def test_rotation_sectors_size_match_labels(name: str) -> None:
    info, label = _parse(name), LABELS[name]
    assert info.rotational is label["rotational"]
    assert info.rotation_rpm == label.get("rotation_rpm")
    assert info.logical_sector_bytes == label["logical_sector_bytes"]
    assert info.physical_sector_bytes == label["physical_sector_bytes"]
    assert info.size_gb == label["size_gb"]
    assert info.form_factor == label.get("form_factor")


@pytest.mark.parametrize("name", SAMPLES)
def test_trim_and_determinism_match_labels(name: str) -> None:
    info, label = _parse(name), LABELS[name]
    if label["trim_supported"] == "not shown":  # truncated paste: unknown, not "no"
        assert info.trim_supported is None and info.deterministic_read_after_trim is None
        return
    assert info.trim_supported is label["trim_supported"]
    assert info.trim_limit_blocks == label.get("trim_limit_blocks")
    assert info.deterministic_read_after_trim is label["deterministic_read_after_trim"]
    assert info.deterministic_zero_after_trim is label["deterministic_zero_after_trim"]


@pytest.mark.parametrize("name", SAMPLES)
def test_security_matches_labels(name: str) -> None:
    info, label = _parse(name), LABELS[name]
    assert info.security_frozen == label.get("security_frozen")
    if "security_enabled" in label:
        assert info.security_enabled is label["security_enabled"]


def test_serial_only_transport_is_unknown_speed_but_serial_kind() -> None:
    info = _parse("hdparm-I-04")
    assert info.transport == "Serial" and info.transport_kind == "serial"
    assert info.sata_max_gbps is None and info.gen_signaling_max_gbps == 3.0


def test_mail_wrapped_transport_keeps_the_highest_revision() -> None:
    info = _parse("hdparm-I-12")  # "SATA II\nExtensions, SATA Rev 2.5, ..., SATA Rev 3.0" at column 0
    assert info.transport is not None and info.transport.endswith("SATA Rev 3.0")
    assert info.sata_max_gbps == 6.0
    assert info.ncq_supported is True and info.queue_depth == 32


def test_compactflash_with_hdparm_i_block_and_wrapped_feature_line() -> None:
    info = _parse("hdparm-I-06")
    assert info.device_class == "CompactFlash ATA device"
    assert info.transport is None and info.sata_max_gbps is None
    assert not any(f.name.startswith("io_udma8") for f in info.features)
    assert info.ncq_supported is False


def test_size_bytes_from_lba48_sectors() -> None:
    assert _parse("hdparm-I-02").size_bytes == 4000797360 * 512


def test_virtio_error_captured_on_this_machine_is_not_ata() -> None:
    result = parse_hdparm((DIR / "local-vda-virtio.stderr.txt").read_text())
    assert result == HdparmUnavailable(reason="not_ata", message="/dev/vda: Operation not permitted")
    assert result.not_ata


@pytest.mark.parametrize(
    "text",
    [
        # hdparm 9.x on an NVMe namespace (printed by hdparm's identify path)
        "\n/dev/nvme0n1:\n HDIO_DRIVE_CMD(identify) failed: Inappropriate ioctl for device\n",
        # virtio-scsi / USB bridge without SAT
        "\n/dev/sdb:\nSG_IO: bad/missing sense data, sb[]:  70 00 05 00 00 00 00 0a 00 00 00 00 20 00 00 00\n",
    ],
)
def test_not_ata_errors(text: str) -> None:
    result = parse_hdparm(text)
    assert isinstance(result, HdparmUnavailable) and result.not_ata


def test_permission_denied_is_not_not_ata() -> None:
    result = parse_hdparm("/dev/sda: Permission denied\n")
    assert isinstance(result, HdparmUnavailable) and result.reason == "permission_denied"


def test_other_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_hdparm("NAME MAJ:MIN RM SIZE RO TYPE MOUNTPOINT\nsda 8:0 0 1T 0 disk\n")


def test_lost_tabs_parse_like_the_original() -> None:
    original = (DIR / "hdparm-I-04.txt").read_text()
    assert parse_hdparm(original.replace("\t", "    ")) == parse_hdparm(original)


@given(st.text())
def test_any_text_gives_data_or_parse_error(text: str) -> None:
    try:
        parse_hdparm(text)
    except ParseError:
        pass


@given(st.sampled_from(SAMPLES), st.data())
def test_damaged_real_outputs_give_data_or_parse_error(name: str, data: st.DataObject) -> None:
    """Drop, duplicate and cut lines of a real output: paste damage beyond the corpus."""
    lines = (DIR / f"{name}.txt").read_text().splitlines()
    kept = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines)))
    cut = data.draw(st.integers(min_value=0, max_value=40))
    try:
        parse_hdparm("\n".join(line[cut:] if i % 3 == 0 else line for i, line in enumerate(kept)))
    except ParseError:
        pass
