"""Network interfaces: which one carries the migration network, and how fast its link is.

The migration step compares a migration's speed with the link it ran over ("your 10 Gbit/s
link was used at 5 %"). That needs three readings, each parsed here:

* ``ip -json addr`` (iproute2): the live interfaces, their state and addresses; with
  ``-details`` also ``linkinfo`` (``info_kind`` ``bond``/``bridge``/``vlan``, the bond mode,
  ``info_slave_kind`` on a bond's ports). ``master`` names the bond or bridge a port is in.
* ``/etc/network/interfaces`` as ifupdown2 reads it and Proxmox writes it: ``auto`` and
  ``allow-*`` lines, ``iface NAME [inet|inet6 METHOD]`` stanzas whose indented option lines
  follow (``address 10.0.0.2/24``, ``bond-slaves eno1 eno2``, ``bridge-ports bond0``),
  ``#`` comments at the start of a line only, ``source``/``source-directory`` lines, a
  trailing backslash continuing a line. ifupdown2 treats ``_`` and ``-`` in option names
  alike (``bridge_ports`` is ``bridge-ports``); a bond's ports may be named on the bond
  (``bond-slaves``) or on each port (``bond-master bond0``, with ``bond-slaves none``).
* sysfs: ``/sys/class/net/IF/speed`` in Mb/s, and ``/sys/class/net/BOND/bonding/slaves``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from ssdwizard.parsers import ParseError

__all__ = [
    "Address",
    "ConfiguredInterface",
    "IpInterface",
    "NetworkInterfaces",
    "addresses_in",
    "parse_bond_slaves",
    "parse_interfaces",
    "parse_ip_addr",
    "parse_speed",
]


@dataclass(frozen=True)
class Address:
    """One address with its prefix length: ``10.0.0.2`` / ``24`` (``family`` inet or inet6)."""

    family: str
    address: str
    prefixlen: int

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        """The address as an ``ipaddress`` interface (address plus network)."""
        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}")

    @property
    def cidr(self) -> str:
        """``10.0.0.2/24``: how ifupdown2 and Proxmox write it."""
        return f"{self.address}/{self.prefixlen}"

    def within(self, network: str) -> bool:
        """Whether the address lies in a CIDR (``10.0.0.0/24``); a bad CIDR is never matched."""
        try:
            wanted = ipaddress.ip_network(network, strict=False)
            return self.interface.ip in wanted
        except ValueError:
            return False


# ---------------------------------------------------------------- ip -json addr


@dataclass(frozen=True)
class IpInterface:
    """One interface as ``ip -json [-details] addr`` shows it.

    ``state`` is the operstate (``UP``, ``DOWN``, ``UNKNOWN`` for loopback and some virtual
    links). ``kind`` is linkinfo's ``info_kind`` (only with ``-details``; ``None`` for a
    physical NIC), ``bond_mode`` the bond's mode then; ``master`` the bond or bridge this
    link is a port of; ``slave_kind`` what that master is (``bond`` or ``bridge``).
    """

    index: int | None
    name: str
    state: str | None
    flags: tuple[str, ...]
    mtu: int | None
    mac: str | None
    link_type: str | None
    addresses: tuple[Address, ...]
    master: str | None = None
    kind: str | None = None
    bond_mode: str | None = None
    slave_kind: str | None = None

    @property
    def up(self) -> bool:
        """Administratively up with a carrier (``LOWER_UP``), as ``ip`` shows it."""
        return "UP" in self.flags and "LOWER_UP" in self.flags


def parse_ip_addr(text: str, source: str = "ip -json addr") -> tuple[IpInterface, ...]:
    """Parse ``ip -json addr`` (or ``ip -json -details addr``) output.

    Old iproute2 releases (4.x) printed empty objects ``{}`` between interfaces and split
    one interface over several objects; empty ones are skipped and parts with the same
    ifname are merged, so every release's output gives one entry per interface.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ParseError(source, f"not JSON: {error}") from None
    if not isinstance(data, list):
        raise ParseError(source, f"expected a JSON list of interfaces, got {type(data).__name__}")
    merged: dict[str, dict[str, Any]] = {}
    for item in data:
        if not isinstance(item, dict):
            raise ParseError(source, f"expected interface objects, got {type(item).__name__}")
        if not item:
            continue
        name = item.get("ifname")
        if not isinstance(name, str) or not name:
            raise ParseError(source, f"an interface without ifname: {str(item)[:120]}")
        if name in merged:
            previous = merged[name]
            addr_info = list(previous.get("addr_info") or []) + list(item.get("addr_info") or [])
            merged[name] = {**previous, **item, "addr_info": addr_info}
        else:
            merged[name] = item
    return tuple(_ip_interface(item, source) for item in merged.values())


def _ip_interface(item: dict[str, Any], source: str) -> IpInterface:
    name = item["ifname"]
    addresses = []
    addr_info = item.get("addr_info") or []
    if not isinstance(addr_info, list):
        raise ParseError(source, f"{name}: addr_info is not a list")
    for entry in addr_info:
        if not isinstance(entry, dict) or not entry:
            continue
        family, local, prefix = entry.get("family"), entry.get("local"), entry.get("prefixlen")
        if not isinstance(local, str) or isinstance(prefix, bool) or not isinstance(prefix, int):
            raise ParseError(source, f"{name}: address without local/prefixlen: {str(entry)[:120]}")
        try:
            ipaddress.ip_interface(f"{local}/{prefix}")
        except ValueError:
            raise ParseError(source, f"{name}: not an address: {local}/{prefix}") from None
        addresses.append(Address(str(family) if family is not None else _family(local), local, prefix))
    linkinfo = _dict_or_empty(item.get("linkinfo"))
    info_data = _dict_or_empty(linkinfo.get("info_data"))
    flags = item.get("flags")
    return IpInterface(
        index=_int_or_none(item.get("ifindex")),
        name=name,
        state=_str_or_none(item.get("operstate")),
        flags=tuple(str(flag) for flag in flags) if isinstance(flags, list) else (),
        mtu=_int_or_none(item.get("mtu")),
        mac=_str_or_none(item.get("address")),
        link_type=_str_or_none(item.get("link_type")),
        addresses=tuple(addresses),
        master=_str_or_none(item.get("master")),
        kind=_str_or_none(linkinfo.get("info_kind")),
        bond_mode=_str_or_none(info_data.get("mode")) if linkinfo.get("info_kind") == "bond" else None,
        slave_kind=_str_or_none(linkinfo.get("info_slave_kind")),
    )


def _family(address: str) -> str:
    return "inet6" if ":" in address else "inet"


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dict_or_empty(value: object) -> dict[str, object]:
    """A JSON object, or an empty one where ip printed something else (or nothing)."""
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- /etc/network/interfaces


@dataclass(frozen=True)
class ConfiguredInterface:
    """One interface of ``/etc/network/interfaces``, all its stanzas taken together.

    ``addresses`` are CIDRs (``address 10.0.0.2`` with ``netmask 255.255.255.0`` becomes
    ``10.0.0.2/24``; an address without any prefix stays bare). ``bond_slaves`` joins
    ``bond-slaves`` on the bond and ``bond-master`` on the ports; ``bridge_ports`` drops
    ``none``. ``options`` keeps every option line as (name with ``-``, value), in order.
    """

    name: str
    auto: bool
    methods: tuple[str, ...]
    addresses: tuple[str, ...]
    gateway: str | None
    bond_slaves: tuple[str, ...]
    bond_master: str | None
    bond_mode: str | None
    bridge_ports: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    lines: tuple[int, ...]

    @property
    def is_bond(self) -> bool:
        """A bond: it has ports or a bond mode."""
        return bool(self.bond_slaves) or self.bond_mode is not None

    @property
    def is_bridge(self) -> bool:
        """A bridge: it has ``bridge-ports`` (``none`` counts: a bridge without ports)."""
        return any(name == "bridge-ports" for name, _ in self.options)

    def within(self, network: str) -> tuple[str, ...]:
        """The addresses of this interface that lie in a CIDR."""
        return tuple(cidr for cidr in self.addresses if _cidr_within(cidr, network))


@dataclass(frozen=True)
class NetworkInterfaces:
    """The parsed file: interfaces in order of first mention, ``source`` lines, odd lines."""

    interfaces: tuple[ConfiguredInterface, ...]
    sources: tuple[str, ...]
    unparsed: tuple[tuple[int, str, str], ...]

    def get(self, name: str) -> ConfiguredInterface | None:
        """The interface called ``name``, or ``None``."""
        return next((iface for iface in self.interfaces if iface.name == name), None)

    def carrying(self, network: str) -> tuple[ConfiguredInterface, ...]:
        """Interfaces with an address in a CIDR: the ones that carry that network."""
        return tuple(iface for iface in self.interfaces if iface.within(network))


def parse_interfaces(text: str, source: str = "/etc/network/interfaces") -> NetworkInterfaces:
    """Parse ``/etc/network/interfaces``. Never fails: odd lines go to ``unparsed``.

    Files sourced from here (``source /etc/network/interfaces.d/*``) are listed in
    ``sources`` and not read: the step reads them through the System door and parses them
    separately if it needs to (Proxmox itself never writes its interfaces there).
    """
    autos: list[str] = []
    order: list[str] = []
    stanzas: dict[str, dict[str, Any]] = {}
    sources: list[str] = []
    unparsed: list[tuple[int, str, str]] = []
    current: dict[str, Any] | None = None
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        words = stripped.split()
        keyword = words[0]
        if keyword == "iface":
            if len(words) < 2:
                unparsed.append((number, line, "iface without a name"))
                current = None
                continue
            name = words[1]
            if name not in stanzas:
                order.append(name)
                stanzas[name] = {"methods": [], "options": [], "lines": []}
            current = stanzas[name]
            current["lines"].append(number)
            if len(words) >= 4:
                current["methods"].append(f"{words[2]} {words[3]}")
            elif len(words) == 3:
                current["methods"].append(words[2])
            continue
        if keyword == "auto" or keyword.startswith("allow-"):
            if keyword in ("auto", "allow-auto"):
                autos.extend(words[1:])
            for name in words[1:]:
                if name not in stanzas:
                    order.append(name)
                    stanzas[name] = {"methods": [], "options": [], "lines": []}
                stanzas[name]["lines"].append(number)
            current = None
            continue
        if keyword in ("source", "source-directory"):
            sources.extend(words[1:])
            current = None
            continue
        if keyword in ("mapping", "rename", "template"):
            unparsed.append((number, line, f"'{keyword}' stanza is not read"))
            current = None
            continue
        if current is None:
            unparsed.append((number, line, "option line outside an iface stanza"))
            continue
        current["options"].append((keyword.replace("_", "-"), " ".join(words[1:])))
        current["lines"].append(number)

    bond_ports: dict[str, list[str]] = {}
    for name in order:
        for option, value in stanzas[name]["options"]:
            if option == "bond-master" and value:
                bond_ports.setdefault(value.split()[0], []).append(name)
    interfaces = tuple(
        _configured(name, stanzas[name], name in autos, bond_ports.get(name, [])) for name in order
    )
    return NetworkInterfaces(interfaces, tuple(sources), tuple(unparsed))


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered by their first physical line."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _configured(name: str, stanza: dict[str, Any], auto: bool, ported: list[str]) -> ConfiguredInterface:
    options: list[tuple[str, str]] = stanza["options"]
    addresses: list[str] = []
    netmask: str | None = None
    gateway = bond_master = bond_mode = None
    slaves: list[str] = []
    bridge_ports: list[str] = []
    for option, value in options:
        if option == "address":
            addresses.extend(value.split())
        elif option == "netmask" and netmask is None:
            netmask = value.split()[0] if value else None
        elif option == "gateway" and gateway is None:
            gateway = value.split()[0] if value else None
        elif option in ("bond-slaves", "slaves"):
            slaves.extend(word for word in value.split() if word != "none")
        elif option == "bond-master":
            bond_master = value.split()[0] if value else None
        elif option == "bond-mode":
            bond_mode = value or None
        elif option == "bridge-ports":
            bridge_ports.extend(word for word in value.split() if word != "none")
    for port in ported:
        if port not in slaves:
            slaves.append(port)
    return ConfiguredInterface(
        name=name,
        auto=auto,
        methods=tuple(stanza["methods"]),
        addresses=tuple(_with_prefix(address, netmask) for address in addresses),
        gateway=gateway,
        bond_slaves=tuple(slaves),
        bond_master=bond_master,
        bond_mode=bond_mode,
        bridge_ports=tuple(bridge_ports),
        options=tuple(options),
        lines=tuple(stanza["lines"]),
    )


def _with_prefix(address: str, netmask: str | None) -> str:
    """``10.0.0.2`` + ``255.255.255.0`` -> ``10.0.0.2/24``; ``netmask 64`` works for IPv6."""
    if "/" in address or netmask is None:
        return address
    try:
        return str(ipaddress.ip_interface(f"{address}/{netmask}"))
    except ValueError:
        return address


def _cidr_within(cidr: str, network: str) -> bool:
    try:
        return ipaddress.ip_interface(cidr).ip in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def addresses_in(interfaces: Iterable[IpInterface], network: str) -> tuple[tuple[str, Address], ...]:
    """(interface name, address) for every live address inside a CIDR, in order."""
    return tuple(
        (iface.name, address) for iface in interfaces for address in iface.addresses if address.within(network)
    )


# ---------------------------------------------------------------- sysfs

# SPEED_UNKNOWN is -1; drivers that predate it report 65535 or 4294967295 ((u16)-1, (u32)-1).
_UNKNOWN_SPEEDS = (65535, 4294967295)


def parse_speed(text: str, source: str = "/sys/class/net/IF/speed") -> int | None:
    """Link speed in Mb/s from sysfs; ``None`` when the kernel does not know it.

    ``-1`` (no link, virtual NIC, virtio without a speed) and the old (u16)/(u32)-1 values
    mean unknown. Reading the file can also fail with EINVAL (loopback, down links on some
    drivers): the caller then has no text and the speed is unknown too.
    """
    value = text.strip()
    if not re.fullmatch(r"-?[0-9]+", value, re.ASCII):
        raise ParseError(source, f"not a speed in Mb/s: {text[:60]!r}")
    speed = int(value)
    if speed <= 0 or speed in _UNKNOWN_SPEEDS:
        return None
    return speed


def parse_bond_slaves(text: str, source: str = "/sys/class/net/BOND/bonding/slaves") -> tuple[str, ...]:
    """The ports of a bond from sysfs: names separated by blanks, possibly none."""
    names = tuple(text.split())
    for name in names:
        if "/" in name or len(name) > 15:
            raise ParseError(source, f"not an interface name: {name[:60]!r}")
    return names
