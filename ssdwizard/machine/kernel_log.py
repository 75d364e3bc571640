"""The kernel log (``dmesg``), read and parsed once per report for every step that needs it."""

from __future__ import annotations

from dataclasses import dataclass

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.dmesg import DmesgLog, DmesgUnavailable, parse_dmesg
from ssdwizard.machine.context import ProbeContext

DMESG_ARGV = ("dmesg",)
SOURCE = "dmesg"


@dataclass(frozen=True)
class KernelLog:
    """The parsed log, or why there is none (``problem``), for a visible skip or fallback."""

    log: DmesgLog | None
    problem: str | None
    text: str = ""

    def lines_with(self, *needles: str, limit: int = 12) -> str:
        """The log lines containing any needle: the evidence a finding shows."""
        found = [line.rstrip() for line in self.text.splitlines() if any(n in line for n in needles)]
        return "\n".join(found[:limit])


def read_kernel_log(ctx: ProbeContext) -> KernelLog:
    return ctx.once(("kernel-log",), lambda: _read(ctx))


def _read(ctx: ProbeContext) -> KernelLog:
    result = ctx.run(DMESG_ARGV)
    if result.missing:
        return KernelLog(None, "dmesg is not installed (apt install util-linux)")
    if result.timed_out:
        return KernelLog(None, "dmesg timed out")
    text = result.stdout if result.ok else result.stdout + "\n" + result.stderr
    try:
        parsed = parse_dmesg(text)
    except ParseError as exc:
        return KernelLog(None, f"dmesg printed something unexpected ({exc.message})")
    if isinstance(parsed, DmesgUnavailable):
        if parsed.reason == "restricted":
            return KernelLog(None, "the kernel log is restricted (kernel.dmesg_restrict=1): run as root to read it")
        return KernelLog(None, "the kernel log is empty (the boot messages have rotated out of the ring buffer)")
    return KernelLog(parsed, None, result.stdout)
