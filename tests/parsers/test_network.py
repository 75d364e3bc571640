"""Network: this machine's `ip -json addr`, real Proxmox interfaces files, sysfs speed values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.network import (
    addresses_in,
    parse_bond_slaves,
    parse_interfaces,
    parse_ip_addr,
    parse_speed,
)

NETWORK = FIXTURES / "network"


def read(name: str) -> str:
    return (NETWORK / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", ["ip-json-addr-this-machine.json", "ip-json-details-addr-this-machine.json"])
def test_this_machines_ip_json(name):
    interfaces = {iface.name: iface for iface in parse_ip_addr(read(name))}
    assert list(interfaces) == ["lo", "ifb0", "ifb1", "eth0"]
    eth0 = interfaces["eth0"]
    assert eth0.state == "UP" and eth0.up and eth0.mtu == 1400
    assert [address.cidr for address in eth0.addresses] == ["192.0.2.2/24", "fd00::2/64", "fe80::fc:ff:fe00:1/64"]
    assert interfaces["lo"].state == "UNKNOWN" and not interfaces["ifb0"].up
    if "details" in name:
        assert interfaces["ifb0"].kind == "ifb" and eth0.kind is None


def test_live_addresses_in_a_network():
    interfaces = parse_ip_addr(read("ip-json-addr-this-machine.json"))
    assert [(name, address.address) for name, address in addresses_in(interfaces, "192.0.2.0/24")] == [
        ("eth0", "192.0.2.2")
    ]
    assert [name for name, _ in addresses_in(interfaces, "fd00::/8")] == ["eth0"]
    assert addresses_in(interfaces, "not a cidr") == ()


def test_bond_details_in_the_shape_ip_prints():
    # Inline, not captured: no real bond output was found (see network/SOURCES.md). The keys
    # are iproute2's: master, linkinfo.info_kind/info_data.mode, linkinfo.info_slave_kind.
    text = json.dumps([
        {"ifindex": 2, "ifname": "eno1", "flags": ["UP", "LOWER_UP", "SLAVE"], "master": "bond0",
         "operstate": "UP", "linkinfo": {"info_slave_kind": "bond"}, "addr_info": []},
        {"ifindex": 5, "ifname": "bond0", "flags": ["UP", "LOWER_UP", "MASTER"], "operstate": "UP",
         "linkinfo": {"info_kind": "bond", "info_data": {"mode": "802.3ad"}},
         "addr_info": [{"family": "inet", "local": "10.10.10.2", "prefixlen": 24}]},
    ])
    eno1, bond0 = parse_ip_addr(text)
    assert (eno1.master, eno1.slave_kind) == ("bond0", "bond")
    assert (bond0.kind, bond0.bond_mode) == ("bond", "802.3ad")


def test_old_iproute2_empty_and_split_objects_are_merged():
    text = '[{},{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.0.0.2","prefixlen":24}]},' \
           '{"ifname":"eth0","addr_info":[{"family":"inet6","local":"fd00::2","prefixlen":64}]}]'
    (eth0,) = parse_ip_addr(text)
    assert [address.cidr for address in eth0.addresses] == ["10.0.0.2/24", "fd00::2/64"]


@pytest.mark.parametrize(
    "text", ["", "{}", "[1]", '[{"mtu": 1}]', '[{"ifname":"x","addr_info":[{"local":"1.2.3.4"}]}]',
             '[{"ifname":"x","addr_info":[{"local":"1.2.3.400","prefixlen":8}]}]', "Object \"addr\" is unknown"],
)
def test_not_ip_json_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_ip_addr(text)


def test_proxmox_bridge_over_a_bond():
    config = parse_interfaces(read("interfaces-vlombardino-bond.txt"))
    bond0, vmbr0 = config.get("bond0"), config.get("vmbr0")
    assert bond0.bond_slaves == ("enp35s0", "enp36s0") and bond0.bond_mode == "4" and bond0.is_bond
    assert vmbr0.bridge_ports == ("bond0",) and vmbr0.is_bridge
    # ' \tgateway' (a space before the tab) is still vmbr0's option.
    assert vmbr0.addresses == ("192.168.1.11/24",) and vmbr0.gateway == "192.168.1.1"
    assert [iface.name for iface in config.carrying("192.168.1.0/24")] == ["vmbr0"]
    assert config.unparsed == ()


def test_etckeeper_pve_host_with_a_source_line():
    config = parse_interfaces(read("interfaces-brucewinter-pve-etc.txt"))
    assert [iface.name for iface in config.interfaces] == ["lo", "enp45s0", "vmbr0", "enp46s0"]
    vmbr0 = config.get("vmbr0")
    assert vmbr0.auto and vmbr0.methods == ("inet static",) and vmbr0.bridge_ports == ("enp45s0",)
    assert vmbr0.addresses == ("192.168.86.57/24",)
    assert not config.get("enp45s0").auto
    assert config.sources == ("/etc/network/interfaces.d/*",)


def test_generated_file_with_five_bridges_and_dhcp():
    config = parse_interfaces(read("interfaces-hackinthebox-proxmox.txt"))
    bridges = [iface for iface in config.interfaces if iface.is_bridge]
    assert [(iface.name, iface.bridge_ports) for iface in bridges] == [
        ("vmbr0", ("eno1",)), ("vmbr1", ("enp3s0f0",)), ("vmbr2", ("enp3s0f1",)),
        ("vmbr3", ("enp4s0f0",)), ("vmbr4", ("enp4s0f1",)),
    ]
    assert config.get("vmbr0").methods == ("inet dhcp",) and config.get("vmbr0").addresses == ()
    assert not config.get("eno1").auto  # allow-hotplug is not auto


def test_netmask_and_underscored_options_of_older_pve():
    config = parse_interfaces(read("interfaces-igpro27-proxmoxconf.txt"))
    vmbr0 = config.get("vmbr0")
    assert vmbr0.addresses == ("192.168.1.10/24",) and vmbr0.bridge_ports == ("eth0",)
    assert ("bridge-stp", "off") in vmbr0.options
    # The commented-out stanza is a comment, not a second eth0 address.
    assert config.get("eth0").addresses == () and config.get("eth0").methods == ("inet manual",)


def test_bond_master_on_the_ports_and_ipv6_netmask():
    # Inline: the ifupdown 'bond-master' style as the USTC-vlab and ccollicutt files use it.
    config = parse_interfaces(
        "auto eno1\niface eno1 inet manual\n    bond-master bond0\n"
        "auto eno2\niface eno2 inet manual\n    bond-master bond0\n"
        "auto bond0\niface bond0 inet static\n    address 10.0.0.12/24\n    bond-slaves none\n"
        "    bond-mode 802.3ad\n"
        "iface bond0 inet6 static\n    address 2001:db8::a2\n    netmask 64\n"
        "    post-up ip route add \\\n      10.9.0.0/16 dev bond0\n"
        "  mtu 9000\n"
    )
    bond0 = config.get("bond0")
    assert bond0.bond_slaves == ("eno1", "eno2") and config.get("eno1").bond_master == "bond0"
    assert bond0.methods == ("inet static", "inet6 static")
    assert bond0.addresses == ("10.0.0.12/24", "2001:db8::a2/64")
    assert ("post-up", "ip route add 10.9.0.0/16 dev bond0") in bond0.options


def test_option_before_any_stanza_is_unparsed():
    config = parse_interfaces("address 10.0.0.1/24\niface\n")
    reasons = [reason for _, _, reason in config.unparsed]
    assert reasons == ["option line outside an iface stanza", "iface without a name"]


def test_sysfs_speed_of_this_machine_is_unknown():
    assert parse_speed(read("sys-class-net-eth0-speed-this-machine.txt")) is None


@pytest.mark.parametrize("text,speed", [("10000\n", 10000), ("1000", 1000), ("-1\n", None), ("65535\n", None),
                                        ("4294967295\n", None), ("0\n", None)])
def test_sysfs_speeds(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["", "fast", "10 Gb/s", "1.5"])
def test_not_a_speed_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_speed(text)


def test_bond_slaves_file():
    assert parse_bond_slaves("eno1 eno2\n") == ("eno1", "eno2")
    assert parse_bond_slaves("\n") == ()
    with pytest.raises(ParseError):
        parse_bond_slaves("cat: /sys/class/net/bond0/bonding/slaves: No such file or directory")


@given(st.text(max_size=300))
def test_any_text_gives_data_or_a_parse_error(text):
    for parse in (parse_ip_addr, parse_interfaces, parse_speed, parse_bond_slaves):
        try:
            parse(text)
        except ParseError:
            pass


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(["ifname", "addr_info", "local", "prefixlen", "family",
                                                       "linkinfo", "info_kind", "info_data", "mode", "flags",
                                                       "master", "mtu", "operstate"]), children, max_size=5),
                    max_leaves=20))
def test_any_json_gives_data_or_a_parse_error(value):
    try:
        parse_ip_addr(json.dumps(value))
    except ParseError:
        pass
