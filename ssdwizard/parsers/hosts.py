"""/etc/hosts: the address a host name stands for.

On a Proxmox node that is not in a cluster, the node's own address is the one /etc/hosts
gives its host name (the installer writes ``192.168.1.11 pve1.example.com pve1``, and
pve-cluster resolves the node name the same way); the migration step reads it when there is
no corosync.conf.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["HostsEntry", "addresses_of", "parse_hosts"]


@dataclass(frozen=True)
class HostsEntry:
    line: int
    address: str
    names: tuple[str, ...]
    text: str


def parse_hosts(text: str) -> tuple[HostsEntry, ...]:
    """Every ``ADDRESS NAME...`` line; comments (from ``#``) and lines whose first word is
    not an address are left out, as the resolver does. Never raises."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        try:
            ipaddress.ip_address(words[0].split("%", 1)[0])
        except ValueError:
            continue
        entries.append(HostsEntry(number, words[0], tuple(words[1:]), raw))
    return tuple(entries)


def addresses_of(entries: tuple[HostsEntry, ...], name: str) -> tuple[HostsEntry, ...]:
    """The entries that name ``name`` (or its short form), loopback addresses left out: the
    Debian ``127.0.1.1 host`` line is not an address other nodes can reach."""
    short = name.split(".")[0]
    found = []
    for entry in entries:
        if name in entry.names or short in entry.names:
            if ipaddress.ip_address(entry.address.split("%", 1)[0]).is_loopback:
                continue
            found.append(entry)
    return tuple(found)
