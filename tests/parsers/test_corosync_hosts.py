"""corosync.conf and /etc/hosts: the node's cluster address, from real files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.corosync import parse_corosync
from ssdwizard.parsers.hosts import addresses_of, parse_hosts


def test_real_two_node_corosync_conf():
    config = parse_corosync((FIXTURES / "corosync" / "corosync-two-node-writeup.txt").read_text())
    assert config.cluster_name == "ClusterProxmox"
    assert [n.name for n in config.nodes] == ["proxmox", "proxmox2"]
    node = config.node("proxmox2.example.com")
    assert node.ring_addresses == ((0, "192.168.1.2"),)
    assert node.line_of("ring0_addr") == 17
    assert config.node("pve9") is None


def test_ring1_and_host_name_rings():
    text = "nodelist {\n  node {\n    name: a\n    ring1_addr: 10.0.0.1\n    ring0_addr: a-corosync\n  }\n}\n"
    (node,) = parse_corosync(text).nodes
    assert node.ring_addresses == ((0, "a-corosync"), (1, "10.0.0.1"))


@pytest.mark.parametrize("text", ["nodelist {\n node {\n", "}\n", "nodelist {\n just words\n}\n"])
def test_broken_corosync_conf_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_corosync(text)


def test_real_hosts_file_gives_the_node_address():
    entries = parse_hosts((FIXTURES / "network" / "hosts-brucewinter-pve-etc.txt").read_text())
    assert [e.address for e in addresses_of(entries, "pve")] == ["192.168.86.57"]
    assert [e.address for e in addresses_of(entries, "pve.localdomain")] == ["192.168.86.57"]
    assert addresses_of(entries, "localhost") == ()  # loopback is not a cluster address
    assert len(entries) == 8


def test_debian_127_0_1_1_line_is_not_the_node_address():
    entries = parse_hosts("127.0.1.1 pve1.lan pve1 # installer\nnot-an-address pve1\n")
    assert addresses_of(entries, "pve1") == ()


@given(st.text(max_size=300))
def test_no_text_crashes_the_parsers(text):
    parse_hosts(text)
    try:
        parse_corosync(text)
    except ParseError:
        pass
