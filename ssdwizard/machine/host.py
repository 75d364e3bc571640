"""The machine's name and kernel, read once per run for the report header, the cluster steps
and the wizard's title."""

from __future__ import annotations

from ssdwizard.machine.context import ProbeContext

# The kernel's name is the one in force; /etc/hostname is what it is set from at boot (a
# recorded profile may hold only that).
HOSTNAME_FILES = ("/proc/sys/kernel/hostname", "/etc/hostname")
OSRELEASE = "/proc/sys/kernel/osrelease"


def hostname(ctx: ProbeContext) -> str | None:
    """The full host name, or None when neither file says."""
    def read() -> str | None:
        for path in HOSTNAME_FILES:
            value = ctx.read_value(path)
            if value:
                return value
        return None

    return ctx.once(("host", "hostname"), read)


def short_hostname(ctx: ProbeContext) -> str | None:
    """The name without its domain: what Proxmox calls the node."""
    name = hostname(ctx)
    return name.split(".")[0] if name else None


def kernel_release(ctx: ProbeContext) -> str | None:
    return ctx.read_value(OSRELEASE)


def report_header(ctx: ProbeContext):
    """The report's ``machine`` field (DESIGN §3.2): name, kernel and the profile replayed."""
    from ssdwizard.report import Machine

    return Machine(hostname(ctx), kernel_release(ctx), ctx.system.profile_name)
