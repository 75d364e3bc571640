"""The kernel's libata quirks for a disk: what the running kernel applied, else its table."""

from __future__ import annotations

from ssdwizard.knowledge import libata_quirks_for
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.identity import DiskIdentity, ata_place, is_ata
from ssdwizard.machine.inventory import Disk
from ssdwizard.machine.kernel_log import read_kernel_log
from ssdwizard.model import Evidence


def kernel_quirks(ctx: ProbeContext, disk: Disk,
                  identity: DiskIdentity | None) -> tuple[tuple[str, ...] | None, Evidence | None]:
    """The libata quirks for a SATA disk: what the running kernel said it applied (dmesg), else
    what the kernel's table (a v6.18 snapshot) lists for the model and firmware. None for
    disks libata does not drive. Worked out once per disk and run: the disks and the trim step
    both ask."""
    return ctx.once(("kernel-quirks", disk.name), lambda: _kernel_quirks(ctx, disk, identity))


def _kernel_quirks(ctx: ProbeContext, disk: Disk,
                   identity: DiskIdentity | None) -> tuple[tuple[str, ...] | None, Evidence | None]:
    if not is_ata(disk):
        return None, None
    place = ata_place(ctx, disk)
    kernel = read_kernel_log(ctx)
    if place is not None and kernel.log is not None:
        applied = [q for q in kernel.log.quirks if q.device.split(".")[0] == place.port]
        if applied:
            return applied[-1].quirks, Evidence("dmesg", kernel.lines_with(f"{applied[-1].device}: Model", limit=1))
    model = identity.model if identity else disk.model
    firmware = identity.firmware if identity else disk.firmware
    entry = libata_quirks_for(model, firmware)
    if entry is None:
        return (), None
    return entry.quirks, Evidence("ssdwizard/data/libata_quirks.toml", f"{entry.model!r} firmware {entry.firmware or 'any'}: "
                                  f"{' '.join(entry.quirks) or 'no quirks'} ({entry.source})")
