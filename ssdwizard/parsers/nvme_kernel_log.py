"""Find in the kernel log the NVMe controller failures an admin must know about.

An NVMe drive that times out, drops off the bus and comes back (or does not) leaves only
kernel messages behind: smartctl and nvme-cli read a healthy controller once it is back. The
pattern that matters most is ``controller is down; will reset: CSTS=0xffffffff``: an all-ones
register read means the device stopped answering on PCIe, and "faulty APST/ASPM power saving"
is the usual cause, so often that the kernel itself prints the workaround after it (commit
4641a8e6e145, "nvme-pci: add trouble shooting steps for timeouts"). The step quotes
:data:`POWER_SAVING_ADVICE` when it sees that.

Message formats, from the Linux sources (drivers/nvme/host/pci.c, core.c; pci.c for the power
state one), old and new kernels both:

* ``nvme_timeout()``: ``I/O %d QID %d timeout, aborting|reset controller|disable controller``,
  since 6.x ``I/O tag %d (%04x) opcode %#x (%s) QID %d timeout, aborting req_op:%s(%u) size:%u``
  and ``..., reset controller``, and ``I/O %d QID %d timeout, completion polled``;
* ``nvme_warn_reset()``: ``controller is down; will reset: CSTS=0x%x, PCI_STATUS=0x%hx`` (or
  ``PCI_STATUS read failed (%d)``), then for CSTS=~0 ``Does your device have a faulty power
  saving mode enabled?`` and ``Try "nvme_core.default_ps_max_latency_us=0 pcie_aspm=off" and
  report a bug`` (``pcie_port_pm=off`` added by commit 92fc2c469eb2, 6.11 and 6.10.y);
* ``nvme_wait_ready()``: ``Device not ready; aborting reset, CSTS=0x%x`` (``initialisation``
  instead of ``reset`` at probe; older kernels without the CSTS part);
* ``nvme_reset_work()``: ``Removing after probe failure status: %d``, in newer kernels
  ``Disabling device after reset failure: %d``;
* ``pci_power_up()``: ``can't change power state from D3cold to D0 (config space inaccessible)``;
* block layer: ``nvme0n1: detected capacity change from N to 0`` (the namespace went away).

Lines come as ``nvme nvme0: ...`` (the controller device) or ``nvme 0000:01:00.0: ...`` (the
PCI device, older kernels and PCI core messages); ``nvme nvme0: pci function 0000:01:00.0``
ties the two, so events are filed under ``nvme0`` where the log says which one it is. Prefixes
(syslog, journal, printk stamps) are stripped with :func:`ssdwizard.parsers.dmesg.strip_prefix`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.dmesg import DmesgUnavailable, strip_prefix

SOURCE = "dmesg (nvme)"

# What each event kind means, in the words the step shows next to the evidence line.
EVENT_KINDS: dict[str, str] = {
    "timeout_abort": "an I/O command timed out; the driver sent an Abort",
    "timeout_reset": "a command timed out again (or on the admin queue); the controller was reset",
    "timeout_disable": "a command timed out while the controller was starting; it was disabled",
    "timeout_polled": "a command timed out but had completed: an interrupt was lost",
    "controller_down": "the controller stopped answering (CSTS read); the driver reset it",
    "power_saving_hint": "the kernel suspects a faulty power saving mode (APST/ASPM)",
    "not_ready": "the controller did not become ready; the reset was given up",
    "removed": "the driver gave up on the controller and removed it",
    "disabled": "the driver gave up on the controller after a failed reset and disabled it",
    "power_state_failed": "the PCI device could not be woken (config space inaccessible)",
    "capacity_lost": "the namespace's capacity dropped to 0: the disk is gone until a reboot",
}


@dataclass(frozen=True)
class KernelParameterAdvice:
    """One kernel command line parameter the step may advise, with why and where it comes from."""

    parameter: str
    effect: str
    source: str


# The workaround for NVMe drives that drop off the bus in a low-power state. The first is
# the real fix for APST trouble; the PCIe ones go further (more power used at idle).
POWER_SAVING_ADVICE: tuple[KernelParameterAdvice, ...] = (
    KernelParameterAdvice(
        parameter="nvme_core.default_ps_max_latency_us=0",
        effect="turns NVMe Autonomous Power State Transitions (APST) off: the drive no longer "
               "enters the non-operational power states it fails to wake from",
        source="Linux commit c5552fde102f 'nvme: Enable autonomous power state transitions' "
               "(v4.11: 'setting the latency tolerance to 0 will disable APST entirely', set for "
               "new devices by nvme_core.default_ps_max_latency_us); printed by the kernel itself "
               "in nvme_warn_reset() since commit 4641a8e6e145; ArchWiki 'Solid state drive/NVMe', "
               "Power Saving (APST)",
    ),
    KernelParameterAdvice(
        parameter="pcie_aspm=off",
        effect="the kernel leaves PCIe Active State Power Management as the firmware set it "
               "(it does not switch link power saving on)",
        source="drivers/nvme/host/pci.c nvme_warn_reset(), commit 4641a8e6e145 'nvme-pci: add "
               "trouble shooting steps for timeouts'",
    ),
    KernelParameterAdvice(
        parameter="pcie_port_pm=off",
        effect="disables power management of all PCIe ports, since pcie_aspm=off alone does not "
               "guarantee ASPM is off",
        source="commit 92fc2c469eb2 'nvme-pci: Fix the instructions for disabling power "
               "management' (v6.11, backported to 6.10.y), tested on a Samsung 970 EVO Plus",
    ),
)

_PCI = r"[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]"  # VMD domains have 5 digits
_DEVICE = re.compile(r"^nvme (?:(?P<ctrl>nvme[0-9]+)|(?P<pci>" + _PCI + r")): (?P<msg>.*)$")
_PCI_FUNCTION = re.compile(r"^pci function (?P<pci>" + _PCI + r")\s*$")
_NAMESPACE_GONE = re.compile(r"^nvme(?P<n>[0-9]+)n[0-9]+: detected capacity change from [0-9]+ to 0\s*$")
_CSTS = re.compile(r"CSTS=(?P<csts>0x[0-9a-fA-F]{1,8})\b")
_KERNEL_TRY = re.compile(r'^Try "(?P<params>[^"]*)" and report a bug')
# Same test as dmesg.parse_dmesg: a short text saying the buffer could not be read.
_RESTRICTED = re.compile(r"read kernel buffer failed|dmesg: .*operation not permitted", re.IGNORECASE)

_TIMEOUT_ACTIONS = {
    "aborting": "timeout_abort",
    "reset controller": "timeout_reset",
    "disable controller": "timeout_disable",
    "completion polled": "timeout_polled",
}
_MESSAGES: tuple[tuple[re.Pattern[str], str | None], ...] = (
    # None: the kind is read from the action the timeout line names.
    (re.compile(r"^I/O .*?\bQID [0-9]+ timeout, (?P<action>aborting|reset controller|disable "
                r"controller|completion polled)\b"), None),
    (re.compile(r"^controller is down; will reset: CSTS=0x[0-9a-fA-F]+"), "controller_down"),
    (re.compile(r"^Does your device have a faulty power saving mode enabled\?"), "power_saving_hint"),
    (_KERNEL_TRY, "power_saving_hint"),
    (re.compile(r"^Device not ready; aborting \w+"), "not_ready"),
    (re.compile(r"^Removing after probe failure status: -?[0-9]+"), "removed"),
    (re.compile(r"^Disabling device after reset failure: -?[0-9]+"), "disabled"),
    (re.compile(r"^can't change power state from \S+ to \S+"), "power_state_failed"),
)


@dataclass(frozen=True)
class NvmeEvent:
    """One problem line: its kind (a key of EVENT_KINDS), the line as logged (the evidence), the
    kernel's message without prefixes and device name, and CSTS where the message has one."""

    kind: str
    line: str
    message: str
    csts: int | None

    @property
    def link_lost(self) -> bool:
        """CSTS read as all ones: the device did not answer on PCIe at all."""
        return self.csts == 0xFFFFFFFF


@dataclass(frozen=True)
class NvmeControllerEvents:
    """The events of one controller, in log order. ``controller`` is ``nvme0`` when the log names
    it, else the PCI address the lines carry."""

    controller: str
    pci: str | None
    events: tuple[NvmeEvent, ...]

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event.kind == kind)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds seen, each once, in the order they first appear."""
        return tuple(dict.fromkeys(event.kind for event in self.events))

    @property
    def link_lost(self) -> bool:
        return any(event.link_lost for event in self.events)

    @property
    def gone(self) -> bool:
        """The driver gave the controller up (removed, disabled, or its namespace dropped to 0)."""
        return any(event.kind in ("removed", "disabled", "capacity_lost") for event in self.events)

    @property
    def power_saving_suspected(self) -> bool:
        """The signature of APST/ASPM trouble: CSTS all ones, or the kernel's own hint."""
        return self.link_lost or any(event.kind == "power_saving_hint" for event in self.events)

    @property
    def kernel_suggestion(self) -> str | None:
        """The parameters the kernel's ``Try "..." and report a bug`` line names (last one wins)."""
        found = None
        for event in self.events:
            match = _KERNEL_TRY.match(event.message)
            if match:
                found = match.group("params")
        return found


@dataclass(frozen=True)
class NvmeKernelLog:
    """Every NVMe controller the log mentions, with its problem events (often none)."""

    controllers: tuple[NvmeControllerEvents, ...]
    lines: int

    def controller(self, name: str) -> NvmeControllerEvents | None:
        return next((c for c in self.controllers if c.controller == name or c.pci == name), None)

    @property
    def troubled(self) -> tuple[NvmeControllerEvents, ...]:
        return tuple(c for c in self.controllers if c.events)

    @property
    def power_saving_suspected(self) -> bool:
        return any(c.power_saving_suspected for c in self.controllers)


NvmeKernelLogResult = Union[NvmeKernelLog, DmesgUnavailable]  # runtime alias: Python 3.9


def _classify(msg: str) -> str | None:
    for pattern, kind in _MESSAGES:
        match = pattern.match(msg)
        if match:
            return kind if kind is not None else _TIMEOUT_ACTIONS[match.group("action")]
    return None


def _csts(msg: str) -> int | None:
    match = _CSTS.search(msg)
    return int(match.group("csts"), 16) if match else None


class _State:
    """One pass over the log: the keys (nvmeN or PCI address) in first-seen order, which PCI
    address each nvmeN has, and the events in log order with the key they were logged under."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.pci_of: dict[str, str] = {}  # nvme0 -> 0000:01:00.0
        self.events: list[tuple[str, NvmeEvent]] = []

    def seen(self, key: str) -> None:
        if key not in self.order:
            self.order.append(key)

    def add(self, key: str, kind: str, line: str, msg: str) -> None:
        self.seen(key)
        self.events.append((key, NvmeEvent(kind=kind, line=line, message=msg, csts=_csts(msg))))


def parse_nvme_kernel_log(text: str) -> NvmeKernelLogResult:
    """Kernel log text (any shape :func:`~ssdwizard.parsers.dmesg.parse_dmesg` takes) to the NVMe
    controllers and their problem events; DmesgUnavailable for an empty or restricted log."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    if "\x00" in text:
        raise ParseError(SOURCE, "binary data, not a kernel log")
    raw_lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not raw_lines:
        return DmesgUnavailable(reason="empty", message="the kernel log was empty")
    if len(raw_lines) <= 3 and any(_RESTRICTED.search(ln) for ln in raw_lines):
        restricted = next(ln for ln in raw_lines if _RESTRICTED.search(ln))
        return DmesgUnavailable(reason="restricted", message=restricted)
    st = _State()
    for line in raw_lines:
        _read_line(st, line)
    return _freeze(st, len(raw_lines))


def _read_line(st: _State, line: str) -> None:
    msg = strip_prefix(line)
    gone = _NAMESPACE_GONE.match(msg)
    if gone:
        # nvmeXnY: X is the controller's instance unless native multipath renumbers it by
        # subsystem; on the single-path machines this wizard tunes they are the same.
        st.add(f"nvme{gone.group('n')}", "capacity_lost", line, msg)
        return
    match = _DEVICE.match(msg)
    if not match:
        return
    key = match.group("ctrl") or match.group("pci")
    body = match.group("msg")
    function = _PCI_FUNCTION.match(body) if match.group("ctrl") else None
    if function:
        st.pci_of[key] = function.group("pci")
    kind = _classify(body)
    if kind is None:
        st.seen(key)
    else:
        st.add(key, kind, line, body)


def _freeze(st: _State, nlines: int) -> NvmeKernelLog:
    name_of = {pci: name for name, pci in st.pci_of.items()}
    names = list(dict.fromkeys(name_of.get(key, key) for key in st.order))
    controllers = tuple(
        NvmeControllerEvents(
            controller=name,
            pci=st.pci_of.get(name) if name.startswith("nvme") else name,
            events=tuple(event for key, event in st.events if name_of.get(key, key) == name),
        )
        for name in names
    )
    return NvmeKernelLog(controllers=controllers, lines=nlines)
