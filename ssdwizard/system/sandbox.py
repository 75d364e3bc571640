"""What apply-time commands do to a replayed profile, so that probing it again sees the change:
the profile has no services, no VMs and no kernel, so ``systemctl``, ``qm set``/``pvesh set``
and sysfs choice lists are played here, on the profile's files, atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssdwizard.system.base import CommandResult
from ssdwizard.system.writer import SANDBOX_UNITS

if TYPE_CHECKING:
    from ssdwizard.system.writer import Writer


_UNIT_VERBS = {"enable": "enabled", "disable": "disabled", "mask": "masked", "unmask": "disabled"}


def simulate(writer: Writer, argv: tuple[str, ...]) -> CommandResult:
    """What an apply-time command does to a replayed machine, so that probing it again sees the
    change: systemctl enable/disable/mask/unmask set the unit's state that ``systemctl
    is-enabled`` answers; ``qm set`` and ``pvesh set …/config`` edit the VM's config file. Other
    commands (daemon-reload, remount, udevadm) change nothing a probe reads."""
    import json

    if len(argv) >= 3 and argv[0] == "systemctl" and argv[1] in _UNIT_VERBS:
        state_file = writer.host(SANDBOX_UNITS)
        raw = writer.read_bytes(SANDBOX_UNITS)
        try:
            states = json.loads(raw) if raw else {}
        except ValueError:
            states = {}
        if not isinstance(states, dict):
            states = {}
        for unit in (a for a in argv[2:] if not a.startswith("-")):
            states[unit] = _UNIT_VERBS[argv[1]]
        state_file.parent.mkdir(parents=True, exist_ok=True)
        writer.replace_plain(state_file, json.dumps(states, indent=2).encode())
    elif argv[:2] == ("qm", "set") and len(argv) >= 5:
        _set_vm_options(writer, f"/etc/pve/qemu-server/{argv[2]}.conf", argv[3:])
    elif argv[:2] == ("pvesh", "set") and len(argv) >= 5:
        parts = argv[2].strip("/").split("/")  # nodes/NODE/qemu/VMID/config
        if len(parts) == 5 and parts[0] == "nodes" and parts[2] == "qemu" and parts[4] == "config":
            _set_vm_options(writer, f"/etc/pve/nodes/{parts[1]}/qemu-server/{parts[3]}.conf", argv[3:])
    return CommandResult(argv, 0, "", "")


def _set_vm_options(writer: Writer, path: str, options: tuple[str, ...]) -> None:
    """``--key value`` pairs into the current section of a VM config (before any [snapshot]),
    rewritten atomically as pmxcfs does: a kill never leaves the config empty."""
    host = writer.host(path)
    raw = writer.read_bytes(path)
    if raw is None:
        return
    lines = raw.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    for key, value in zip(options[0::2], options[1::2]):
        key = key.lstrip("-")
        new = f"{key}: {value}\n"
        at = next((i for i in range(end) if lines[i].split(":", 1)[0] == key), None)
        if at is None:
            lines.insert(end, new)
            end += 1
        else:
            lines[at] = new
    writer.replace_plain(host, "".join(lines).encode("utf-8", errors="surrogateescape"))


def choose_in_list(current: str, value: str) -> str | None:
    """The sysfs text after choosing ``value`` in a bracketed choice list, or None when the file
    is not such a list. A value the list lacks raises EINVAL, as the kernel's write() does."""
    words = current.split()
    if not any(w.startswith("[") and w.endswith("]") for w in words):
        return None
    names = [w.strip("[]") for w in words]
    if value.strip() not in names:
        raise OSError(22, "Invalid argument")
    trailing = current[len(current.rstrip()):]
    return " ".join(f"[{n}]" if n == value.strip() else n for n in names) + (" " if current.rstrip("\n").endswith(" ") else "") + trailing.lstrip(" ")
