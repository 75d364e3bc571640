"""The node's network as the cluster steps need it: its addresses, its cluster address, and
the physical link under an interface with its speed.

A migration's speed means something only next to the link it ran over. That link is rarely
the interface with the address: Proxmox puts addresses on bridges (vmbr0) over bonds over
NICs, and only the NICs know their speed (``/sys/class/net/IF/speed``, Mb/s). This module
walks that stack; everything is read through the probe context.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.corosync import parse_corosync
from ssdwizard.parsers.hosts import addresses_of, parse_hosts
from ssdwizard.parsers.network import (
    ConfiguredInterface,
    IpInterface,
    NetworkInterfaces,
    parse_bond_slaves,
    parse_interfaces,
    parse_ip_addr,
    parse_speed,
)
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence

#: The canonical argv (DESIGN §3.1 command table).
IP_ADDR_ARGV = ("ip", "-json", "addr")
COROSYNC_CONF = "/etc/pve/corosync.conf"
HOSTS = "/etc/hosts"
INTERFACES = "/etc/network/interfaces"
SYS_NET = "/sys/class/net"

_IP_ADDR = " ".join(IP_ADDR_ARGV)
# RFC 1918 and the IPv6 unique local addresses (RFC 4193): networks that never route on the
# internet. ipaddress's is_private is wider (it includes TEST-NETs and more), hence the list.
_PRIVATE_V4 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_PRIVATE_V6 = (ipaddress.IPv6Network("fc00::/7"),)
# Bridge ports that are not the way out: guest taps and veths, the firewall's plumbing.
_GUEST_PORTS = ("tap", "veth", "fwpr", "fwln", "fwbr")
# Bond modes that never spread traffic over more than one port at a time.
_ONE_PORT_MODES = {"active-backup", "1", "broadcast", "3"}
# Modes that keep one TCP stream on one port (a migration is one stream).
_HASHING_MODES = {"802.3ad", "4", "balance-xor", "2", "balance-tlb", "5", "balance-alb", "6"}


# ---- this node's addresses ------------------------------------------------------------------------

@dataclass(frozen=True)
class NetView:
    """The node's interfaces: live from ``ip -json addr`` when it answers, and as configured."""

    live: tuple[IpInterface, ...] | None
    configured: NetworkInterfaces | None
    notes: tuple[Evidence, ...]

    def addresses(self) -> list[tuple[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]]:
        """(interface, address with its network) for every address: live ones win."""
        if self.live is not None:
            return [(iface.name, a.interface) for iface in self.live for a in iface.addresses]
        found = []
        for iface in self.configured.interfaces if self.configured else ():
            for cidr in iface.addresses:
                try:
                    found.append((iface.name, ipaddress.ip_interface(cidr)))
                except ValueError:
                    continue
        return found

    def live_iface(self, name: str) -> IpInterface | None:
        return next((i for i in self.live or () if i.name == name), None)

    def conf(self, name: str) -> ConfiguredInterface | None:
        return self.configured.get(name) if self.configured else None

    def source(self) -> str:
        return _IP_ADDR if self.live is not None else INTERFACES


def read_network(ctx: ProbeContext) -> NetView:
    notes: list[Evidence] = []
    live = None
    result = ctx.run(IP_ADDR_ARGV)
    if result.ok:
        try:
            live = parse_ip_addr(result.stdout)
        except ParseError as exc:
            notes.append(Evidence(_IP_ADDR, exc.message))
    else:
        notes.append(Evidence(_IP_ADDR, (result.stderr or f"exit {result.exit_code}").strip()[:200]))
    text = ctx.read_text(INTERFACES)
    configured = parse_interfaces(text) if text is not None else None
    return NetView(live, configured, tuple(notes))


def hostname(ctx: ProbeContext) -> str | None:
    """The node's short name (kept here for the migration step; the one reader is machine.host)."""
    from ssdwizard.machine.host import short_hostname

    return short_hostname(ctx)


@dataclass(frozen=True)
class ClusterAddress:
    address: str
    evidence: Evidence
    in_cluster: bool


def cluster_address(ctx: ProbeContext, node: str | None) -> ClusterAddress | None:
    """The address this node talks to the cluster on: corosync's ring0_addr for it (a name
    resolved through /etc/hosts), else the address /etc/hosts gives the host name."""
    hosts_text = ctx.read_text(HOSTS)
    hosts = parse_hosts(hosts_text) if hosts_text is not None else ()
    text = ctx.read_text(COROSYNC_CONF)
    if text is not None and node:
        try:
            entry = parse_corosync(text).node(node)
        except ParseError:
            entry = None
        rings = entry.ring_addresses if entry else ()
        if entry is not None and rings:
            link, value = rings[0]
            key = f"ring{link}_addr"
            evidence = Evidence(COROSYNC_CONF, f"line {entry.line_of(key)}: {key}: {value} (node {entry.name})")
            if _is_address(value):
                return ClusterAddress(value, evidence, True)
            named = addresses_of(hosts, value)
            if named:
                return ClusterAddress(named[0].address, Evidence(
                    COROSYNC_CONF, f"{evidence.excerpt}; {HOSTS} line {named[0].line}: {named[0].text}"), True)
    if node:
        named = addresses_of(hosts, node)
        if named:
            return ClusterAddress(named[0].address, Evidence(HOSTS, f"line {named[0].line}: {named[0].text}"),
                                  text is not None)
    return None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_private(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """RFC 1918 or unique local (fc00::/7): never routed on the internet."""
    if isinstance(network, ipaddress.IPv4Network):
        return any(network.subnet_of(p) for p in _PRIVATE_V4)
    return any(network.subnet_of(p) for p in _PRIVATE_V6)


def network_of(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


# ---- the link under a network ----------------------------------------------------------------------

@dataclass(frozen=True)
class Port:
    name: str
    mbps: int | None
    excerpt: str


@dataclass(frozen=True)
class Link:
    """The physical ports under an interface and what they add up to.

    ``mbps`` is the link's speed (a bond: the sum of its ports; active-backup: one port), or
    None when a port's speed is unknown. ``stream_mbps`` is what one TCP stream can use: a
    hashing bond keeps a stream on one port.
    """

    interface: str
    path: str
    ports: tuple[Port, ...]
    mbps: int | None
    stream_mbps: int | None
    notes: tuple[str, ...] = ()

    @property
    def gbps(self) -> float | None:
        return None if self.mbps is None else self.mbps / 1000

    def evidence(self) -> Evidence:
        return Evidence(f"{SYS_NET}/*/speed", "\n".join(p.excerpt for p in self.ports) or "(no port found)")

    def describe(self) -> str:
        speed = f"{short_number(self.gbps)} Gbit/s" if self.gbps is not None else "speed unknown"
        return f"{self.path} ({speed})"


def _speed(ctx: ProbeContext, name: str) -> Port:
    path = f"{SYS_NET}/{name}/speed"
    text = ctx.read_value(path)
    if text is None:
        return Port(name, None, f"{path}: (unreadable: no such file, or the driver does not report a speed)")
    try:
        mbps = parse_speed(text, path)
    except ParseError:
        mbps = None
    return Port(name, mbps, f"{path}: {text}" + ("" if mbps else " (unknown: no link, or a virtual NIC)"))


def _bond_members(ctx: ProbeContext, view: NetView, name: str) -> tuple[tuple[str, ...], str | None] | None:
    """A bond's ports and mode, or None when ``name`` is not a bond."""
    slaves_text = ctx.read_value(f"{SYS_NET}/{name}/bonding/slaves")
    live, conf = view.live_iface(name), view.conf(name)
    mode_text = ctx.read_value(f"{SYS_NET}/{name}/bonding/mode")
    mode = mode_text.split()[0] if mode_text else (conf.bond_mode if conf else None)
    if slaves_text is not None:
        try:
            return parse_bond_slaves(slaves_text), mode
        except ParseError:
            pass
    if live is not None and "MASTER" in live.flags:
        return tuple(i.name for i in view.live or () if i.master == name), mode
    if conf is not None and conf.is_bond:
        return conf.bond_slaves, mode
    return None


def _bridge_ports(view: NetView, name: str) -> tuple[str, ...] | None:
    ported = tuple(i.name for i in view.live or () if i.master == name)
    conf = view.conf(name)
    if not ported and not (conf and conf.is_bridge):
        return None
    ports = ported or (conf.bridge_ports if conf else ())
    return tuple(p for p in ports if not p.startswith(_GUEST_PORTS))


def _vlan_parent(view: NetView, name: str) -> str | None:
    conf = view.conf(name)
    raw = next((value for option, value in conf.options if option == "vlan-raw-device"), None) if conf else None
    if raw:
        return raw.split()[0]
    return name.rsplit(".", 1)[0] if "." in name else None


def link_of(ctx: ProbeContext, view: NetView, name: str, depth: int = 0) -> Link:
    """Follow a bridge to its ports, a VLAN to its parent and a bond to its slaves, down to
    NICs, and add up their speeds."""
    if depth > 4:
        return Link(name, name, (), None, None, ("the interface stack is deeper than expected",))
    bond = _bond_members(ctx, view, name)
    if bond is not None:
        members, mode = bond
        links = [link_of(ctx, view, member, depth + 1) for member in members]
        ports = tuple(p for link in links for p in link.ports)
        speeds = [link.mbps for link in links if link.mbps is not None]
        all_known = bool(links) and len(speeds) == len(links)  # one unknown port: the sum is unknown
        notes: list[str] = []
        mbps: int | None
        if not all_known:
            mbps = None
        elif mode in _ONE_PORT_MODES:
            mbps = max(speeds)
            notes.append(f"{name} is an {mode} bond: only one port carries traffic at a time.")
        else:
            mbps = sum(speeds)
        stream = max(speeds) if all_known else None
        if mode not in _HASHING_MODES and mode not in _ONE_PORT_MODES:
            stream = mbps
        elif mode in _HASHING_MODES and len(links) > 1 and stream is not None:
            total = short_number((mbps or 0) / 1000)
            notes.append(f"{name} ({mode}) hashes each connection onto one port: a single migration, one TCP "
                         f"stream, can use at most {short_number(stream / 1000)} Gbit/s of the {total}.")
        inner = " + ".join(link.path for link in links) or "no ports"
        path = f"{name} [{mode or 'bond'}: {inner}]"
        return Link(name, path, ports, mbps, stream, tuple(notes) + tuple(n for l in links for n in l.notes))
    ports_of_bridge = _bridge_ports(view, name)
    if ports_of_bridge is not None:
        links = [link_of(ctx, view, port, depth + 1) for port in ports_of_bridge]
        if not links:
            return Link(name, f"{name} (a bridge without an uplink port)", (), None, None)
        best = max(links, key=lambda l: l.mbps or 0)
        uplinks = ((f"{name} has several uplinks ({', '.join(l.interface for l in links)}); the fastest counts.",)
                   if len(links) > 1 else ())
        return Link(name, f"{name} → {best.path}", best.ports, best.mbps, best.stream_mbps, uplinks + best.notes)
    parent = _vlan_parent(view, name)
    if parent is not None and parent != name:
        below = link_of(ctx, view, parent, depth + 1)
        return Link(name, f"{name} → {below.path}", below.ports, below.mbps, below.stream_mbps, below.notes)
    port = _speed(ctx, name)
    return Link(name, name, (port,), port.mbps, port.mbps)


def short_number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
