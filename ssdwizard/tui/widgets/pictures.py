"""Pictures for the steps where a person would rather look than read; which step shows which
is in ssdwizard.tui.extras."""

from __future__ import annotations

import statistics
from typing import Any

from textual.widget import Widget
from textual.widgets import Sparkline, Static

from ssdwizard.tui.glyphs import UNICODE, Glyphs
from ssdwizard.tui.widgets.charts import Bars, TextSparkline
from ssdwizard.tui.widgets.status import safe_text


def _gbps(value: float | None) -> str:
    return "?" if value is None else f"{value:g} Gbps"


def sata_picture(facts: dict[str, Any], glyphs: Glyphs = UNICODE) -> list[Widget]:
    """Per SATA disk: controller, disk and negotiated link as bars on one 6 Gbps scale."""
    widgets: list[Widget] = []
    for disk in facts.get("disks", []):
        rows = [("controller", disk["controller_gbps"], _gbps(disk["controller_gbps"])),
                ("disk", disk["disk_max_gbps"], _gbps(disk["disk_max_gbps"])),
                ("link", disk["link_gbps"], _gbps(disk["link_gbps"]))]
        widgets.append(Static(safe_text(disk["name"], one_line=True, glyphs=glyphs), classes="facts-title"))
        widgets.append(Bars(rows, scale=6.0, classes="bars"))
    return widgets


def health_picture(facts: dict[str, Any], glyphs: Glyphs = UNICODE) -> list[Widget]:
    """Rated life used per disk, on one 100 % scale (NVMe may pass 100: the bar is then full)."""
    rows = [(disk["name"], float(min(disk["percentage_used"], 100)), f"{disk['percentage_used']} %")
            for disk in facts.get("disks", []) if disk.get("percentage_used") is not None]
    if not rows:
        return []
    return [Static("Rated endurance used", classes="facts-title"), Bars(rows, scale=100.0, classes="bars")]


def ceph_picture(facts: dict[str, Any], glyphs: Glyphs = UNICODE) -> list[Widget]:
    """RAM the rbd caches may take, per VM: disks with the cache on × rbd_cache_size."""
    import humanize

    size = (facts.get("rbd_cache") or {}).get("rbd_cache_size")

    rows = []
    for vm in facts.get("vms", []):
        on = sum(1 for cache_on in vm.get("rbd_cache_on", ()) if cache_on)  # the step's decision
        reserved = on * (size or 0)
        rows.append((f"VM {vm['vmid']}", float(reserved), humanize.naturalsize(reserved, binary=True)))
    if not rows:
        return []
    return [Static("RAM reserved by the rbd cache, per VM", classes="facts-title"), Bars(rows, classes="bars")]


def migration_picture(facts: dict[str, Any], glyphs: Glyphs = UNICODE) -> list[Widget]:
    """Past migration speeds as a sparkline, against the link's capacity (characters on a
    console: Textual's sparkline is drawn with partial blocks)."""
    speeds = [t["speed_mib_s"] for t in reversed(facts.get("tasks", [])) if t.get("speed_mib_s")]
    if not speeds:
        return []
    link = facts.get("link_gbps")
    capacity = link * 1000 / 8 / 1.048576 if link else None  # Gbit/s → MiB/s
    scale = f"link capacity {capacity:,.0f} MiB/s ({link:g} Gbit/s)" if capacity else "link capacity unknown"
    median = statistics.median(speeds)
    data = [*speeds, capacity] if capacity else speeds
    sparkline = TextSparkline(data, glyphs.spark, classes="sparkline") if glyphs.ascii else \
        Sparkline(data, classes="sparkline")
    return [Static(f"Migration speeds (MiB/s, oldest {glyphs.arrow} newest), median {median:,.1f}; {scale}",
                   classes="facts-title"),
            sparkline,
            Bars([("median", median, f"{median:,.1f} MiB/s"), ("link", capacity, f"{capacity:,.0f} MiB/s" if capacity else "?")],
                 scale=capacity, classes="bars")]
