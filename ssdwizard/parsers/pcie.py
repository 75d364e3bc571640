"""Read the PCIe link of an NVMe drive from sysfs: speed, width, generation, usable bandwidth.

A drive in a slot wired for fewer lanes, or trained down to a slower speed, loses throughput
without any error: the only evidence is ``current_link_speed``/``current_link_width`` below
``max_link_speed``/``max_link_width`` in ``/sys/bus/pci/devices/<addr>/``. These parsers read
the values exactly as the kernel prints them (drivers/pci/pci-sysfs.c):

* since the 2020 rework on linux-pci (Yicong Yang's "Improve link speed presentation process"
  series, then current_link_speed_show() printing pci_speed_string() from drivers/pci/probe.c):
  ``2.5 GT/s PCIe``, ``5.0 GT/s PCIe``, ``8.0 GT/s PCIe``, ``16.0 GT/s PCIe``, ``32.0 GT/s PCIe``,
  ``64.0 GT/s PCIe``, and ``Unknown``;
* before it, a switch in current_link_speed_show(): ``2.5 GT/s``, ``5 GT/s``, ``8 GT/s``,
  ``16 GT/s``, ``32 GT/s``, and ``Unknown speed``;
* widths with ``%u``: the Negotiated Link Width field, ``0`` when the link is not trained.

Reading the files is the step's job through the System door; these functions only get text.
"""

from __future__ import annotations

import re

# GT/s per lane -> PCIe generation.
_GENERATIONS: dict[float, int] = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6}

# Line encoding per generation, as the kernel's PCIE_SPEED2MBS_ENC() in drivers/pci/pci.h
# counts it: 8b/10b for 2.5 and 5 GT/s, 128b/130b for 8 to 32 GT/s, and 1/1 for 64 GT/s (PCIe
# 6.0 FLIT mode: a later kernel patch changed its entry from 64000*128/130 to 64000*1/1).
_ENCODING: dict[int, tuple[int, int]] = {1: (8, 10), 2: (8, 10), 3: (128, 130), 4: (128, 130),
                                         5: (128, 130), 6: (1, 1)}

_SPEED = re.compile(r"^(?P<gts>[0-9]{1,3}(?:\.[0-9]{1,2})?) GT/s(?: PCIe)?$")
_WIDTH = re.compile(r"^[0-9]{1,3}$")  # ASCII only: \d also matches "٤" (Arabic-Indic four)

# PCIe links come in these widths (x1 .. x32); anything else is not a link width.
_WIDTHS = (1, 2, 4, 8, 12, 16, 32)


def parse_link_speed(text: str) -> float | None:
    """GT/s per lane from ``current_link_speed``/``max_link_speed``; None for ``Unknown``,
    ``Unknown speed``, an empty file, or anything else (a PCI-X bus string, garbage)."""
    if not isinstance(text, str):
        return None
    match = _SPEED.match(text.strip())
    if not match:
        return None
    gts = float(match.group("gts"))
    return gts if gts in _GENERATIONS else None


def parse_link_width(text: str) -> int | None:
    """Lanes from ``current_link_width``/``max_link_width``; None for ``0`` (link not trained),
    a width PCIe does not have, or anything that is not the kernel's bare number."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if not _WIDTH.match(value):
        return None
    width = int(value)
    return width if width in _WIDTHS else None


def pcie_generation(gt_s: float | None) -> int | None:
    """2.5 -> 1, 5 -> 2, 8 -> 3, 16 -> 4, 32 -> 5, 64 -> 6; None for any other rate."""
    if gt_s is None:
        return None
    return _GENERATIONS.get(float(gt_s))


def lane_throughput_gb_s(gt_s: float | None) -> float | None:
    """Usable GB/s (10**9 bytes) per lane and direction after line encoding, before protocol
    overhead (TLP headers, flow control): 0.25, 0.5, 0.985, 1.969, 3.938, 8.0 for gen 1..6."""
    generation = pcie_generation(gt_s)
    if gt_s is None or generation is None:
        return None
    payload, line = _ENCODING[generation]
    return float(gt_s) * payload / line / 8


def link_throughput_gb_s(gt_s: float | None, width: int | None) -> float | None:
    """Usable GB/s of the whole link: per-lane throughput times the lane count."""
    per_lane = lane_throughput_gb_s(gt_s)
    if per_lane is None or width is None or width not in _WIDTHS:
        return None
    return per_lane * width
