"""NVMe controller failures in real kernel logs (GitHub issues, blog posts), restricted logs, any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.dmesg import DmesgUnavailable
from ssdwizard.parsers.nvme_kernel_log import (
    EVENT_KINDS,
    POWER_SAVING_ADVICE,
    NvmeKernelLog,
    parse_nvme_kernel_log,
)

DIR = FIXTURES / "dmesg"


def _log(name: str) -> NvmeKernelLog:
    result = parse_nvme_kernel_log((DIR / name).read_text())
    assert isinstance(result, NvmeKernelLog)
    return result


def test_csts_all_ones_with_the_kernels_apst_hint() -> None:
    log = _log("rpi-6661-csts-apst.txt")
    nvme0 = log.controller("nvme0")
    assert nvme0 is not None and nvme0.count("controller_down") == 2
    assert nvme0.link_lost and nvme0.power_saving_suspected and not nvme0.gone
    assert nvme0.kernel_suggestion == "nvme_core.default_ps_max_latency_us=0 pcie_aspm=off"
    assert nvme0.count("power_saving_hint") == 5  # 3 "Try ..." lines, 2 "Does your device ..."
    down = [e for e in nvme0.events if e.kind == "controller_down"]
    assert down[0].csts == 0xFFFFFFFF
    assert down[0].line == ("Jan 28 16:15:20 argon kernel: nvme nvme0: controller is down; will reset: "
                            "CSTS=0xffffffff, PCI_STATUS=0x10")
    assert down[0].message == "controller is down; will reset: CSTS=0xffffffff, PCI_STATUS=0x10"
    assert log.power_saving_suspected
    # No "pci function" line in this excerpt: the PCI-addressed lines stay apart, with no events.
    pci = log.controller("0000:01:00.0")
    assert pci is not None and pci.events == () and pci.pci == "0000:01:00.0"


def test_old_kernel_reset_not_ready_and_removal_per_controller() -> None:
    log = _log("nvme-cli-151-reset-removed.txt")
    assert [c.controller for c in log.controllers] == ["nvme2", "nvme3"]
    for ctrl in log.controllers:
        assert ctrl.kinds == ("timeout_reset", "not_ready", "removed", "capacity_lost")
        assert ctrl.count("not_ready") == 2 and ctrl.gone and not ctrl.power_saving_suspected
    nvme3 = log.controller("nvme3")
    assert nvme3 is not None
    assert nvme3.events[0].line == "[11626.482776] nvme nvme3: I/O 0 QID 0 timeout, reset controller"
    assert nvme3.events[-1].message == "nvme3n1: detected capacity change from 800166076416 to 0"


def test_pci_addressed_lines_join_their_controller() -> None:
    log = _log("ubuntu-rockchip-155-kernlog.txt")
    assert [c.controller for c in log.controllers] == ["nvme0"]
    nvme0 = log.controllers[0]
    assert nvme0.pci == "0004:41:00.0"
    # The PCI core's line ("nvme 0004:41:00.0: can't change power state ...") sits in log order.
    assert nvme0.kinds == ("controller_down", "power_state_failed", "removed")
    assert nvme0.link_lost and nvme0.gone and nvme0.kernel_suggestion is None  # pre-hint kernel
    assert nvme0.events[0].csts == 0xFFFFFFFF


def test_new_io_tag_timeout_format_and_vmd_domain() -> None:
    log = _log("blog-ahmedalsawi-io-tag-timeout.txt")
    nvme0 = log.controller("nvme0")
    assert nvme0 is not None and nvme0.pci == "10000:e1:00.0"  # VMD: five-digit PCI domain
    assert nvme0.kinds == ("timeout_abort", "timeout_reset")
    assert not nvme0.power_saving_suspected
    assert log.controller("10000:e1:00.0") == nvme0  # found by its PCI address too


def test_not_ready_with_csts_1() -> None:
    nvme0 = _log("blog-bspwr-990pro-not-ready.txt").controller("nvme0")
    assert nvme0 is not None and nvme0.kinds == ("not_ready",) and nvme0.count("not_ready") == 2
    assert [e.csts for e in nvme0.events] == [1, 1] and not nvme0.link_lost


def test_aborts_and_polled_completion() -> None:
    nvme1 = _log("propolis-578-aborts.txt").controller("nvme1")
    assert nvme1 is not None and nvme1.kinds == ("timeout_abort",) and nvme1.count("timeout_abort") == 4
    polled = _log("starfive-98-completion-polled.txt").controller("nvme0")
    assert polled is not None and polled.kinds == ("timeout_polled",)


@pytest.mark.parametrize(("name", "pci"),
                         [("dmesg-08.txt", "0001:01:00.0"), ("rpi-6661-clean-boot.txt", "0000:01:00.0")])
def test_healthy_boot_lists_the_controller_without_events(name: str, pci: str) -> None:
    log = _log(name)
    assert [(c.controller, c.pci, c.events) for c in log.controllers] == [("nvme0", pci, ())]
    assert log.troubled == () and not log.power_saving_suspected


@pytest.mark.parametrize("name", ["dmesg-02.txt", "dmesg-04.txt", "dmesg-06.txt", "local-virtio.txt"])
def test_logs_without_nvme(name: str) -> None:
    assert _log(name).controllers == ()


def test_restricted_and_empty_logs() -> None:
    restricted = parse_nvme_kernel_log((DIR / "local-restricted.stderr.txt").read_text())
    assert isinstance(restricted, DmesgUnavailable) and restricted.reason == "restricted"
    empty = parse_nvme_kernel_log(" \n\n")
    assert isinstance(empty, DmesgUnavailable) and empty.reason == "empty"
    with pytest.raises(ParseError):
        parse_nvme_kernel_log("nvme nvme0: \x00\x01")


def test_every_event_kind_is_described_and_the_advice_cites_sources() -> None:
    kinds = {e.kind for name in DIR.glob("*.txt") for c in getattr(parse_nvme_kernel_log(name.read_text()),
                                                                     "controllers", ()) for e in c.events}
    assert kinds <= set(EVENT_KINDS)
    assert [a.parameter for a in POWER_SAVING_ADVICE] == [
        "nvme_core.default_ps_max_latency_us=0", "pcie_aspm=off", "pcie_port_pm=off"]
    assert all(a.effect and "commit" in a.source for a in POWER_SAVING_ADVICE)


@given(st.text())
def test_any_text_gives_a_result_or_parse_error(text: str) -> None:
    try:
        result = parse_nvme_kernel_log(text)
    except ParseError:
        return
    assert isinstance(result, (NvmeKernelLog, DmesgUnavailable))


@given(st.lists(st.sampled_from([
    "nvme nvme0: controller is down; will reset: CSTS=0x", "nvme nvme0: pci function ",
    "nvme 0000:01:00.0: ", "nvme9n1: detected capacity change from 1 to 0", "I/O 1 QID 2 timeout, ",
    "CSTS=0xffffffffff", "Try \"", "[ 1.0] ", "Jan  1 00:00:00 h kernel: ", "9" * 50, "\n"]), max_size=30))
def test_fragments_of_real_messages(parts: list[str]) -> None:
    try:
        result = parse_nvme_kernel_log("".join(parts))
    except ParseError:
        return
    if isinstance(result, NvmeKernelLog):
        for ctrl in result.controllers:
            assert all(e.kind in EVENT_KINDS for e in ctrl.events)
            assert all(e.csts is None or 0 <= e.csts <= 0xFFFFFFFF for e in ctrl.events)
