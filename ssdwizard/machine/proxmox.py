"""Whether this is a Proxmox VE node, decided before the cluster steps load their parsers.

The ceph and migration steps read a dozen Proxmox formats; on the many machines that are not
Proxmox nodes the answer is a skip, and importing those parsers first would only cost time.
"""

from __future__ import annotations

from typing import Any

from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult

PVE_DIR = "/etc/pve"
NODES_DIR = f"{PVE_DIR}/nodes"
STORAGE_CFG = f"{PVE_DIR}/storage.cfg"
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


def ceph_skip(reason: str) -> StepResult:
    return StepResult("ceph", "Ceph RBD cache", Status.SKIP, reason, (), {
        "config_path": None, "rbd_cache": None, "vms": [], "virtual_disks": 0, "ram_reserved_bytes": 0})


def migration_empty_facts() -> dict[str, Any]:
    return {"type": None, "network": None, "legacy_unsecure": None, "tasks": [], "link_gbps": None,
            "utilisation": None}


def migration_skip() -> StepResult:
    return StepResult("migration", "Live migration", Status.SKIP, "Not a Proxmox VE node: there is no /etc/pve.",
                      (Finding(Status.SKIP, "proxmox", "Not a Proxmox VE node: /etc/pve is missing (or empty, "
                               "when pve-cluster is not running). Live migration is a Proxmox cluster feature.",
                               "", (Evidence(PVE_DIR, "(missing or empty)"),)),), migration_empty_facts())


def gated_probe(step_id: str, probe):
    """The step's probe, behind the check: off a Proxmox node the step skips without loading."""
    def run(ctx: ProbeContext) -> StepResult:
        if not is_pve_node(ctx):
            if step_id == "ceph":
                return ceph_skip("Not a Proxmox VE node (no /etc/pve): the VMs' rbd cache is configured there.")
            return migration_skip()
        return probe(ctx)

    return run
