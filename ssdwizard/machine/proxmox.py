"""Whether this is a Proxmox VE node, decided before the cluster steps load their parsers.

The ceph and migration steps read a dozen Proxmox formats; on the many machines that are not
Proxmox nodes the answer is a skip, and importing those parsers first would only cost time.
"""

from __future__ import annotations

from ssdwizard.machine.context import ProbeContext

PVE_DIR = "/etc/pve"
NODES_DIR = f"{PVE_DIR}/nodes"
STORAGE_CFG = f"{PVE_DIR}/storage.cfg"
PVE_CEPH_DIR = "/etc/ceph"
LOCAL_VM_DIR = f"{PVE_DIR}/qemu-server"


def is_pve_node(ctx: ProbeContext) -> bool:
    """The one test of "is this a Proxmox VE node": pmxcfs, mounted on /etc/pve, always holds
    nodes/ and storage.cfg (the installer writes the latter). A missing or empty /etc/pve
    (pve-cluster not running) or a bare one left behind by a removed package is not a node."""
    return bool(ctx.listdir(NODES_DIR)) or ctx.read_text(STORAGE_CFG) is not None


def local_node(ctx: ProbeContext) -> str | None:
    """This node's name as pmxcfs knows it: /etc/pve/local → nodes/NAME, else the short host name."""
    import re

    from ssdwizard.machine.host import short_hostname

    for link in (f"{PVE_DIR}/local", LOCAL_VM_DIR):
        target = ctx.readlink(link)
        if target:
            match = re.search(r"nodes/([^/]+)", target)
            if match:
                return match.group(1)
    return short_hostname(ctx)


def proxmox_gate(ctx: ProbeContext) -> str | None:
    """The cluster steps' gate: why they skip here, or None on a Proxmox VE node."""
    if is_pve_node(ctx):
        return None
    return "Not a Proxmox VE node: no /etc/pve/nodes or storage.cfg (pve-cluster not installed or not running)."
