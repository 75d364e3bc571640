"""/etc/pve/corosync.conf: the cluster's nodes and the address each one talks on.

The migration step needs one thing from it: this node's cluster address. Proxmox migrates
over the cluster network unless datacenter.cfg names a ``migration`` network, and the
cluster network is where the node's ``ring0_addr`` lives (PVE::Cluster uses the same
nodelist to find the target's address).

The format is corosync's (``corosync.conf(5)``): ``name {`` opens a section, ``}`` closes it,
``key: value`` sets a value, ``#`` starts a comment line. Proxmox writes::

    nodelist {
      node {
        name: pve1
        nodeid: 1
        quorum_votes: 1
        ring0_addr: 192.168.1.11
      }
    }

``ring0_addr`` may be an address or a host name (clusters created before PVE 6 often used
names); ``linkN_addr`` is not a corosync key, ``ringN_addr`` is, for every link N.
"""

from __future__ import annotations

from dataclasses import dataclass

from ssdwizard.parsers import ParseError

__all__ = ["CorosyncConfig", "CorosyncNode", "parse_corosync"]


@dataclass(frozen=True)
class CorosyncNode:
    """One ``node { }`` of the nodelist: its keys as written, and the line each was on."""

    values: tuple[tuple[str, str], ...]
    lines: tuple[tuple[str, int], ...]

    def get(self, key: str) -> str | None:
        return next((value for name, value in self.values if name == key), None)

    @property
    def name(self) -> str | None:
        return self.get("name")

    @property
    def ring_addresses(self) -> tuple[tuple[int, str], ...]:
        """(link number, address or host name) for every ``ringN_addr``, in link order."""
        found = []
        for key, value in self.values:
            if key.startswith("ring") and key.endswith("_addr") and key[4:-5].isdigit():
                found.append((int(key[4:-5]), value))
        return tuple(sorted(found))

    def line_of(self, key: str) -> int | None:
        return next((number for name, number in self.lines if name == key), None)


@dataclass(frozen=True)
class CorosyncConfig:
    nodes: tuple[CorosyncNode, ...]
    cluster_name: str | None

    def node(self, name: str) -> CorosyncNode | None:
        """The node called ``name`` (compared without a domain: ``pve1`` matches ``pve1.lan``)."""
        short = name.split(".")[0]
        return next((node for node in self.nodes if (node.name or "").split(".")[0] == short), None)


def parse_corosync(text: str, source: str = "/etc/pve/corosync.conf") -> CorosyncConfig:
    """Parse corosync.conf. Raises :class:`ParseError` on unbalanced braces or a line that is
    neither a section, a value, nor a comment (corosync refuses such a file too)."""
    stack: list[str] = []
    nodes: list[CorosyncNode] = []
    current: tuple[list[tuple[str, str]], list[tuple[str, int]]] | None = None
    cluster_name = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            name = line[:-1].strip()
            stack.append(name)
            if stack == ["nodelist", "node"]:
                current = ([], [])
            continue
        if line == "}":
            if not stack:
                raise ParseError(source, f"line {number}: '}}' without an open section")
            if stack == ["nodelist", "node"] and current is not None:
                nodes.append(CorosyncNode(tuple(current[0]), tuple(current[1])))
                current = None
            stack.pop()
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise ParseError(source, f"line {number}: not 'key: value': {raw[:120]!r}")
        key, value = key.strip(), value.strip()
        if current is not None and stack == ["nodelist", "node"]:
            current[0].append((key, value))
            current[1].append((key, number))
        elif stack == ["totem"] and key == "cluster_name":
            cluster_name = value
    if stack:
        raise ParseError(source, f"section {stack[-1]!r} is not closed")
    return CorosyncConfig(tuple(nodes), cluster_name)
