"""sysfs PCIe link files as the kernel prints them (old and new formats), generation and bandwidth."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssdwizard.parsers.pcie import (
    lane_throughput_gb_s,
    link_throughput_gb_s,
    parse_link_speed,
    parse_link_width,
    pcie_generation,
)

# No NVMe/PCIe link files on the build VM (its PCI devices are not PCIe: no current_link_speed),
# so the values are the kernel's own strings: pci_speed_string() since 2020, the switch in
# current_link_speed_show() before, each with the "\n" sysfs_emit/sprintf add.


@pytest.mark.parametrize(
    ("text", "gts"),
    [
        ("2.5 GT/s PCIe\n", 2.5), ("5.0 GT/s PCIe\n", 5.0), ("8.0 GT/s PCIe\n", 8.0),
        ("16.0 GT/s PCIe\n", 16.0), ("32.0 GT/s PCIe\n", 32.0), ("64.0 GT/s PCIe\n", 64.0),
        ("2.5 GT/s\n", 2.5), ("5 GT/s\n", 5.0), ("8 GT/s\n", 8.0), ("16 GT/s\n", 16.0), ("32 GT/s\n", 32.0),
    ],
)
def test_kernel_speed_strings(text: str, gts: float) -> None:
    assert parse_link_speed(text) == gts


@pytest.mark.parametrize(
    "text",
    ["Unknown\n", "Unknown speed\n", "", "\n", "33 MHz PCI\n", "8.0 GT/s PCIe x4", "8,0 GT/s PCIe",
     "7.0 GT/s PCIe\n", "GT/s", "-8 GT/s", "8.0GT/s PCIe", "9" * 400 + " GT/s"],
)
def test_unknown_or_foreign_speed_is_none(text: str) -> None:
    assert parse_link_speed(text) is None


@pytest.mark.parametrize(("text", "width"), [("4\n", 4), ("1\n", 1), ("16\n", 16), ("32\n", 32), ("8", 8)])
def test_kernel_width_strings(text: str, width: int) -> None:
    assert parse_link_width(text) == width


@pytest.mark.parametrize("text", ["0\n", "", "x4\n", "3\n", "-4", "4 lanes", "255\n", "٤"])
def test_untrained_or_foreign_width_is_none(text: str) -> None:
    assert parse_link_width(text) is None


@pytest.mark.parametrize(("gts", "gen"), [(2.5, 1), (5, 2), (8, 3), (16, 4), (32, 5), (64, 6)])
def test_generation(gts: float, gen: int) -> None:
    assert pcie_generation(gts) == gen


@pytest.mark.parametrize("gts", [None, 0, 1.0, 10.0, 128.0])
def test_no_generation(gts: float | None) -> None:
    assert pcie_generation(gts) is None and lane_throughput_gb_s(gts) is None


@pytest.mark.parametrize(
    ("gts", "gb_s"),
    # 8b/10b: 2.5e9 * 8/10 / 8 bytes; 128b/130b from gen 3; FLIT 1/1 at 64 GT/s (PCIE_SPEED2MBS_ENC).
    [(2.5, 0.25), (5.0, 0.5), (8.0, 0.9846), (16.0, 1.9692), (32.0, 3.9385), (64.0, 8.0)],
)
def test_lane_throughput(gts: float, gb_s: float) -> None:
    assert lane_throughput_gb_s(gts) == pytest.approx(gb_s, abs=1e-4)


def test_link_throughput_from_sysfs_text() -> None:
    # A gen3 x4 drive in a slot that trained to gen3 x2 gets half its bandwidth.
    full = link_throughput_gb_s(parse_link_speed("8.0 GT/s PCIe\n"), parse_link_width("4\n"))
    trained = link_throughput_gb_s(parse_link_speed("8.0 GT/s PCIe\n"), parse_link_width("2\n"))
    assert full is not None and full == pytest.approx(3.938, abs=1e-3)
    assert trained == pytest.approx(full / 2)
    assert link_throughput_gb_s(8.0, None) is None and link_throughput_gb_s(None, 4) is None
    assert link_throughput_gb_s(8.0, 3) is None


@given(st.text())
def test_any_text_gives_a_value_or_none(text: str) -> None:
    speed, width = parse_link_speed(text), parse_link_width(text)
    assert speed is None or pcie_generation(speed) is not None
    assert width is None or width >= 1
