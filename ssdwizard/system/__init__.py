"""The one door to the machine.

Nothing else in ssdwizard runs a program or opens a system path: every probe takes a
:class:`~ssdwizard.system.base.System` and asks it. That is what lets the same probes run on
this machine, on a recorded machine profile (DESIGN §3.1), and record a profile while they run.
Paths are always the machine's absolute paths (``/sys/block/sda/queue/scheduler``); a profile
maps them below its ``root/`` folder. One module per job:

- ``base``: the :class:`System` interface, :class:`CommandResult`, profile errors, the link walk
- ``live``: this machine (:class:`LiveSystem`)
- ``paths``: a profile's paths resolved inside its root, never outside
- ``profile``: a recorded machine replayed (:class:`ProfileSystem`, ``load_profile``)
- ``recording``: this machine with a note of what was read (:class:`RecordingSystem`)
- ``writer``: the writing side, for the apply layer only (:class:`Writer`, atomic replace, journal files)
- ``sandbox``: what apply-time commands do to a replayed profile
- ``blockio``: raw read-only block I/O for the TRIM test and the IOPS measurement

The names below are importable from ``ssdwizard.system`` too; they load their module on first
use (PEP 562), so a headless report never pays for the writer or the block I/O.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "base": ("CommandResult", "System", "ProfileError", "ProfileEscape", "SymlinkLoop", "follow_links",
             "DEFAULT_TIMEOUT_S", "EXIT_NOT_FOUND", "MAX_READ_BYTES", "MAX_LINK_HOPS", "MAX_LATENCY_MS",
             "COMMAND_ENV_OVERRIDES"),
    "live": ("LiveSystem",),
    "paths": ("resolve_in_root", "refuse_links_on_the_way"),
    "profile": ("ProfileSystem", "ProfileCommand", "load_profile"),
    "recording": ("RecordingSystem", "command_slug", "PER_PROCESS_LINKS"),
    "writer": ("Writer", "FileStat", "LockedError", "ConcurrentEdit", "STATE_DIR", "SANDBOX_UNITS",
               "PMXCFS_MAX_FILE_BYTES"),
    "blockio": ("BlockIO", "RawDevice", "Extent", "ReadRun"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'ssdwizard.system' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ssdwizard.system.{module}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value
