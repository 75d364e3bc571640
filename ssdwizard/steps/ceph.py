"""Step 8, ``ceph``: the librbd cache of the VMs' Ceph disks, and the RAM it takes.

The guide sets ``rbd cache`` options in ceph.conf and multiplies virtual disks by the cache size.
Two things it leaves out decide the answer on Proxmox VE:

* **QEMU's ``cache=`` mode overrides ceph.conf.** When QEMU opens an RBD image it sets
  ``rbd_cache`` itself (block/rbd.c: ``false`` under ``cache.direct=on``, i.e. ``none`` and
  ``directsync``; ``true`` otherwise), after reading ceph.conf. Proxmox's default for a disk
  without ``cache=`` is ``none``, so on a default cluster no VM disk has an rbd cache whatever
  ceph.conf says. (``efidisk0`` is the exception: qemu-server gives it ``writeback``.)
* **The cache is per image.** Each open disk with the cache on may take ``rbd_cache_size`` bytes
  in its QEMU process, on top of the VM's memory. Disks on a ``krbd 1`` storage use the kernel
  client (no librbd, no rbd cache), and so does ``tpmstate0`` (qemu-server maps it with krbd).

The probe reads the ceph.conf the VMs' librbd uses (``/etc/pve/ceph.conf`` on Proxmox, with
``/etc/ceph/ceph.conf`` normally a link to it), the monitors' config database when ``ceph config
dump`` answers (a ceph.conf Ceph's parser refuses gives none of its values: the database and the
defaults decide, and the plan does not edit such a file), every VM config under
``/etc/pve/nodes/*/qemu-server/`` and ``storage.cfg``.
Facts follow DESIGN §3.2: ``vms`` and ``virtual_disks`` cover the whole cluster (``/etc/pve`` is
cluster-wide), and ``ram_reserved_bytes`` is the sum over those VMs; the findings break it down
per VM and per node. The plan turns the cache on per disk (``qm set``, or ``pvesh`` for a VM on
another node) and, on request, writes the guide's values into ``[client]``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import humanize

from ssdwizard.apply.plan import CommandRun, FileEdit, Plan, StateCheck
from ssdwizard.data import load_table
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import cephconf, cephdump, meminfo
from ssdwizard.parsers.pveconf import Drive, StorageConfig, parse_storage_cfg, parse_vm_config
from ssdwizard.machine.proxmox import LOCAL_VM_DIR, NODES_DIR, PVE_CEPH_DIR, STORAGE_CFG, local_node
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.steps import chosen, skip_facts, skipped

ID = "ceph"
TITLE = "Ceph RBD cache"

PVE_CEPH_CONF = "/etc/pve/ceph.conf"
ETC_CEPH_CONF = "/etc/ceph/ceph.conf"
PID_DIR = "/var/run/qemu-server"
MEMINFO = "/proc/meminfo"
CONFIG_DUMP_ARGV = ("ceph", "config", "dump", "--format", "json")
CHOICE = "ceph.values"  # declared, with its values, in the step table (steps/__init__.py)

#: The options DESIGN §3.2 reports, in its order.
FACT_OPTIONS = ("rbd_cache", "rbd_cache_size", "rbd_cache_max_dirty", "rbd_cache_target_dirty",
                "rbd_cache_max_dirty_age", "rbd_cache_writethrough_until_flush")


# ---- the knowledge table ------------------------------------------------------------------------

@dataclass(frozen=True)
class OptionRow:
    name: str
    type: str
    default: Any
    guide: Any
    guide_text: str
    meaning: str
    source: str


@cache
def options_table() -> dict[str, OptionRow]:
    return {row["name"]: OptionRow(row["name"], row["type"], row["default"], row["guide"], row["guide_text"],
                                   row["meaning"], row["source"])
            for row in load_table("ceph_rbd_cache")["option"]}


@cache
def cache_modes() -> dict[str, bool]:
    """QEMU cache mode → whether it leaves librbd's cache on."""
    return {row["mode"]: row["rbd_cache"] for row in load_table("ceph_rbd_cache")["cache_mode"]}


@cache
def _disk_defaults() -> dict[str, str]:
    return {row["key"]: row["mode"] for row in load_table("ceph_rbd_cache")["disk_default"]}


@cache
def _not_librbd() -> dict[str, str]:
    return {row["key"]: row["why"] for row in load_table("ceph_rbd_cache")["not_librbd"]}


def ram_share_warn() -> float:
    return float(load_table("ceph_rbd_cache")["thresholds"]["ram_share_warn"])


def default_mode(key: str) -> str:
    """The QEMU cache mode Proxmox gives a disk without ``cache=``."""
    table = _disk_defaults()
    return table.get(key, table["*"])


def size_text(value: int | float) -> str:
    return humanize.naturalsize(value, binary=True)


# ---- what the plan is made from ---------------------------------------------------------------------

@dataclass(frozen=True)
class Observed:
    """What the probe read that the plan needs, and nothing else: the planner works from this
    alone, never from the public facts (those are the report's)."""

    #: This node's name (None: unknown): its VMs take ``qm set``, another node's ``pvesh``.
    local_node: str | None
    #: The cluster's nodes (``/etc/pve/nodes``), to name a migration target in the notes.
    nodes: tuple[str, ...]
    #: The ceph.conf to edit, as its real path (the link target); None without a ceph.conf.
    config_path: str | None
    #: Its text; None: no ceph.conf, so the monitors' config database takes the values.
    config_text: str | None
    #: The Ceph user the VMs' librbd connects as (``client.admin``).
    client: str
    #: The effective value of every option in the knowledge table, in its order.
    values: tuple[EffectiveValue, ...]
    #: The librbd disks of every VM in the cluster, VM by VM.
    disks: tuple[RbdDisk, ...]
    #: The VMIDs known to run (on this node: another node's are not visible from here).
    running: tuple[int, ...]
    #: This node's RAM in bytes (None: /proc/meminfo unreadable).
    mem_total: int | None
    #: Why Ceph refuses the ceph.conf ("/etc/pve/ceph.conf line 7: ..."); None: Ceph reads it (or
    #: there is none). The plan does not edit a file Ceph refuses.
    config_refused: str | None = None

    def value(self, option: str) -> Any:
        return next(v.value for v in self.values if v.option == option)


@dataclass(frozen=True)
class EffectiveValue:
    """One option's value for the VMs' librbd client and where it came from."""

    option: str
    value: Any
    origin: str          # "file" | "config db" | "default"
    where: str           # "/etc/pve/ceph.conf:14 [client]", "ceph config dump: client/...", "Ceph's default"
    problem: str | None = None


@dataclass(frozen=True)
class RbdDisk:
    """A VM disk whose I/O goes through librbd, with the QEMU cache mode that decides its cache."""

    vmid: int
    node: str
    key: str
    value: str            # the drive string as written in the VM config
    line: int
    storage: str
    cache: str | None     # cache= as written; None = Proxmox's default for the key
    config_path: str

    @property
    def mode(self) -> str:
        return self.cache or default_mode(self.key)

    @property
    def cache_on(self) -> bool:
        return cache_modes().get(self.mode, True)

    @property
    def mode_words(self) -> str:
        return f"cache={self.cache}" if self.cache else f"no cache= (Proxmox default: {self.mode})"


# ---- the probe --------------------------------------------------------------------------------------

def probe(ctx: ProbeContext) -> StepResult:
    """Behind the Proxmox gate of the step table: this runs on a Proxmox VE node only."""
    path, real, text = _config_file(ctx)
    storage_text = ctx.read_text(STORAGE_CFG)
    storages = parse_storage_cfg(storage_text or "")
    if path is None and not any(s.type == "rbd" for s in storages.storages):
        return skipped(ID, TITLE, "No Ceph here: no /etc/pve/ceph.conf or /etc/ceph/ceph.conf, and no rbd storage "
                       "in /etc/pve/storage.cfg.", skip_facts(ID), PVE_CEPH_DIR)
    here = local_node(ctx)
    vms, findings = _read_vms(ctx, storages, here)
    client = _client_name(storages, vms)
    database, db_note = _config_db(ctx, client, here)
    document = cephconf.parse(text) if text is not None else None
    refusal = _refusal(document, real or path)
    # A file Ceph refuses gives no value at all (md_config_t::parse_config_files stops before the
    # first one): the monitors' database and the defaults decide, as without a file.
    values = effective_values(None if refusal else document, real or path, client, database)
    size = int(values["rbd_cache_size"].value)
    mem_total, mem_evidence = _mem_total(ctx)

    findings.insert(0, _settings_finding(values, path, real, client, refusal))
    if document is not None and text is not None and (real or path):
        where = real or path or ""
        if refusal is not None:
            findings.append(_refused_finding(document, text, where))
        else:
            findings += _ignored_findings(document, where, client)
        for number, message in document.notes:
            findings.append(Finding(Status.WARN, "ceph.conf", f"{where} line {number}: {message}.",
                                    "Write the header without blanks inside the brackets.",
                                    (Evidence(where, f"{number}: {_line_text(text, number)}"),)))
    if values["rbd_cache"].value is False:
        findings.append(Finding(Status.WARN, "rbd_cache", f"rbd_cache is false ({values['rbd_cache'].where}). QEMU "
                                "sets rbd_cache itself for each disk from its cache mode, so VMs with "
                                "cache=writeback get the cache anyway; the setting only turns it off for other "
                                "librbd clients (rbd, qemu-img) and contradicts the VMs' cache modes.",
                                "Set `rbd cache = true` in [client] (the plan does it) and choose the cache per "
                                "disk with cache=.", (Evidence(values["rbd_cache"].where, "rbd_cache = false"),)))
    if db_note is not None:
        findings.append(db_note)
    findings += _constraint_findings(values)
    findings += _mode_findings(vms, values)
    findings += _ram_findings(vms, size, here, mem_total, mem_evidence)
    findings.append(_comparison_finding(values))
    external = [s.storage_id for s in storages.storages if s.uses_librbd and s.monhost]
    if external:
        findings.append(Finding(Status.OK, "external Ceph", f"Storage {', '.join(external)} connects to an external "
                                "cluster (monhost): its librbd reads /etc/pve/priv/ceph/STORAGE.conf if present, not "
                                "the node's ceph.conf; its disks are counted with the settings shown.", "",
                                (Evidence(STORAGE_CFG, ", ".join(external)),)))

    rbd_vms = [vm for vm in vms if vm.disks]
    disks = [d for vm in rbd_vms for d in vm.disks]
    facts = {
        "config_path": real or path,
        "rbd_cache": {name: values[name].value for name in FACT_OPTIONS},
        # rbd_cache_on: the step's own decision per disk (cache_modes' order), so a picture or a
        # script need not repeat the mode table, and agrees with it on a mode it does not know.
        "vms": [{"vmid": vm.vmid, "rbd_disks": len(vm.disks), "cache_modes": [d.mode for d in vm.disks],
                 "rbd_cache_on": [d.cache_on for d in vm.disks]}
                for vm in rbd_vms],
        "virtual_disks": len(disks),
        "ram_reserved_bytes": reserved(disks, size),
    }
    observed = Observed(local_node=here, nodes=tuple(ctx.listdir(NODES_DIR)), config_path=real or path,
                        config_text=text, client=client, values=tuple(values.values()), disks=tuple(disks),
                        running=tuple(vm.vmid for vm in rbd_vms if vm.running), mem_total=mem_total,
                        config_refused=refusal)
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, _summary(rbd_vms, disks, size, here), tuple(findings), facts,
                      observed=observed)


# ---- reading the machine ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Vm:
    vmid: int
    node: str
    config_path: str
    name: str | None
    disks: tuple[RbdDisk, ...]
    skipped: tuple[str, ...]     # "scsi1 on krbd storage ceph-krbd" …
    running: bool | None         # None: on another node, not knowable from here


def _config_file(ctx: ProbeContext) -> tuple[str | None, str | None, str | None]:
    """(path read, its real path, text): /etc/pve/ceph.conf first, as librbd on Proxmox uses it."""
    for path in (PVE_CEPH_CONF, ETC_CEPH_CONF):
        text = ctx.read_text(path)
        if text is not None:
            return path, ctx.realpath(path), text
    return None, None, None


def _vm_files(ctx: ProbeContext, here: str | None) -> list[tuple[int, str, str]]:
    """(vmid, node, path) of every VM config, each VMID once, nodes/ first."""
    found: dict[int, tuple[int, str, str]] = {}
    for node in ctx.listdir(NODES_DIR):
        folder = f"{NODES_DIR}/{node}/qemu-server"
        for name in ctx.listdir(folder):
            match = re.fullmatch(r"(\d+)\.conf", name)
            if match:
                found.setdefault(int(match.group(1)), (int(match.group(1)), node, f"{folder}/{name}"))
    for name in ctx.listdir(LOCAL_VM_DIR):
        match = re.fullmatch(r"(\d+)\.conf", name)
        if match and int(match.group(1)) not in found:
            vmid = int(match.group(1))
            found[vmid] = (vmid, here or "this node", f"{LOCAL_VM_DIR}/{name}")
    return [found[vmid] for vmid in sorted(found)]


def _running(ctx: ProbeContext) -> set[int]:
    return {int(m.group(1)) for name in ctx.listdir(PID_DIR) if (m := re.fullmatch(r"(\d+)\.pid", name))}


def _read_vms(ctx: ProbeContext, storages: StorageConfig, here: str | None) -> tuple[list[Vm], list[Finding]]:
    running = _running(ctx)
    vms: list[Vm] = []
    problems: list[Finding] = []
    for vmid, node, path in _vm_files(ctx, here):
        text = ctx.read_text(path)
        if text is None:
            continue
        config = parse_vm_config(text, path)
        for line, message in config.problems:
            problems.append(Finding(Status.WARN, f"VM {vmid}", f"{path} line {line}: {message}",
                                    "Proxmox ignores such a line; check the VM's configuration.",
                                    (Evidence(path, f"{line}: {text.split(chr(10))[line - 1]}"),)))
        disks, skipped = [], []
        raw = {key: value for key, value, _ in config.options}
        for drive in config.disks:
            reason = _why_not_librbd(drive, storages)
            if reason:
                if reason != "not rbd":
                    skipped.append(f"{drive.key} ({reason})")
                continue
            disks.append(RbdDisk(vmid, node, drive.key, raw[drive.key], drive.line, drive.storage or "",
                                 drive.cache, path))
        is_here = here is not None and node == here
        vms.append(Vm(vmid, node, path, config.name, tuple(disks), tuple(skipped),
                      (vmid in running) if is_here else None))
    return vms, problems


def _why_not_librbd(drive: Drive, storages: StorageConfig) -> str | None:
    storage = storages.get(drive.storage) if drive.storage else None
    if storage is None or storage.type != "rbd":
        return "not rbd"
    if storage.krbd:
        return f"storage {storage.storage_id} has krbd 1: kernel client, no rbd cache"
    if drive.key in _not_librbd():
        return "TPM state: qemu-server maps it with krbd, no rbd cache"
    return None


def _client_name(storages: StorageConfig, vms: list[Vm]) -> str:
    """The Ceph user the VMs' librbd connects as (storage.cfg ``username``, default admin)."""
    used = (storages.get(d.storage) for vm in vms for d in vm.disks)
    names = sorted({(storage.username if storage else None) or "admin" for storage in used})
    return f"client.{names[0] if names else 'admin'}"


def _config_db(ctx: ProbeContext, client: str, host: str | None
               ) -> tuple[dict[str, cephdump.ConfigEntry], Finding | None]:
    result = ctx.run(CONFIG_DUMP_ARGV)
    command = " ".join(CONFIG_DUMP_ARGV)
    if result.missing:
        return {}, Finding(Status.OK, "config database", "`ceph` is not installed here, so the monitors' "
                           "config database was not read: values come from ceph.conf and Ceph's defaults.",
                           "On a Ceph node run `ceph config dump | grep rbd_cache` to check for overrides.",
                           (Evidence(command, result.stderr.strip() or "command not found"),))
    if not result.ok:
        why = "timed out" if result.timed_out else f"exit {result.exit_code}"
        return {}, Finding(Status.OK, "config database", f"`{command}` did not answer ({why}): values come "
                           "from ceph.conf and Ceph's defaults.", "Run it as root on a node with a Ceph admin "
                           "keyring to include the monitors' settings.",
                           (Evidence(command, (result.stderr or result.stdout).strip()[:400]),))
    try:
        entries = cephdump.parse(result.stdout)
    except ParseError as exc:
        return {}, Finding(Status.WARN, "config database", f"`{command}` printed something unexpected: "
                           f"{exc.message}", "", (Evidence(command, result.stdout[:400]),))
    chosen = {name: entry for name, entry in cephdump.for_client(entries, client, host).items()
              if name in cephconf.RBD_CACHE_OPTIONS}
    return chosen, None


def effective_values(document: cephconf.CephConf | None, path: str | None, client: str,
                     database: Mapping[str, cephdump.ConfigEntry]) -> dict[str, EffectiveValue]:
    """Ceph's order of sources for a client: the local file over the monitors' database over the
    compiled-in default (md_config_t: CONF_FILE ranks above CONF_MON)."""
    table = options_table()
    from_file = cephconf.effective(document, client, tuple(table)) if document is not None else {}
    values: dict[str, EffectiveValue] = {}
    for name, row in table.items():
        problem = None
        found = from_file.get(name)
        if found is not None and found.setting is not None:
            where = f"{path}:{found.line} [{found.section}]"
            if found.error is None:
                values[name] = EffectiveValue(name, found.value, "file", where)
                continue
            problem = f"{where}: `{found.setting.text.strip()}` does not parse ({found.error}); Ceph ignores it"
        entry = database.get(name)
        if entry is not None:
            mask = f" ({entry.mask})" if entry.mask else ""
            try:
                values[name] = EffectiveValue(name, cephconf.parse_value(name, entry.value), "config db",
                                              f"ceph config dump: {entry.section}{mask} {name} = {entry.value}",
                                              problem)
                continue
            except ParseError:
                pass
        values[name] = EffectiveValue(name, row.default, "default", "Ceph's default", problem)
    return values


def _mem_total(ctx: ProbeContext) -> tuple[int | None, Evidence | None]:
    text = ctx.read_text(MEMINFO)
    if text is None:
        return None, None
    try:
        info = meminfo.parse(text)
    except ParseError:
        return None, None
    line = next((l for l in text.splitlines() if l.startswith("MemTotal:")), "")
    return info.total_bytes, Evidence(MEMINFO, line)


# ---- findings --------------------------------------------------------------------------------------

def _show(option: str, value: Any) -> str:
    row = options_table()[option]
    if row.type == "size" and isinstance(value, int):
        return size_text(value)
    if row.type == "float":
        return f"{value:g} s"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _refusal(document: cephconf.CephConf | None, where: str | None) -> str | None:
    """``FILE line N: reason`` when Ceph's parser refuses the file, else None."""
    refusal = document.refusal if document is not None else None
    if refusal is None:
        return None
    number, reason = refusal
    return f"{where} line {number}: {reason}"


def _line_text(text: str, number: int) -> str:
    lines = text.split("\n")
    return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else ""


def _refused_finding(document: cephconf.CephConf, text: str, where: str) -> Finding:
    """The one finding for a file Ceph refuses: the first error is the one Ceph reports (it stops
    there), every other line it would refuse is in the evidence so that one pass fixes them all.

    Proxmox adds ``conf=/etc/pve/ceph.conf`` to a pveceph-managed storage's drive (proxmox/pve-storage
    src/PVE/CephConfig.pm ``ceph_connect_option``, RBDPlugin ``path``), and QEMU fails the disk when
    an explicit conf does not read (qemu/qemu block/rbd.c ``qemu_rbd_connect``: "error reading conf
    file"); without ``conf=`` it goes on with the defaults."""
    problems = document.problems
    number, reason = problems[0]
    more = len(problems) - 1
    message = (f"{where} is refused by Ceph's parser (line {number}: {reason}), so none of its values apply: "
               "librbd reads no setting from it, and the settings shown are Ceph's defaults (or the monitors' "
               "database). Proxmox gives QEMU this file for the VMs' Ceph disks (conf=), and QEMU stops on a "
               "file Ceph cannot read: VMs started now may fail to open them; running VMs keep what they read "
               "when they started.")
    if more:
        message += f" Ceph would refuse {more} more line{'s' if more != 1 else ''} (in the evidence)."
    return Finding(Status.WARN, "ceph.conf", message,
                   f"Fix line {number} (since Octopus Ceph refuses a whole file for one syntax error; check it "
                   f"with `ceph-conf -c {where} --list-all-sections`). The wizard does not edit a file Ceph "
                   "refuses: run it again once Ceph reads the file.",
                   tuple(Evidence(where, f"{n}: {_line_text(text, n)}") for n, _ in problems))


def _settings_finding(values: dict[str, EffectiveValue], path: str | None, real: str | None,
                      client: str, refusal: str | None = None) -> Finding:
    lines = [f"{name} = {_show(name, v.value)}  ({v.where})" for name, v in values.items()]
    problems = [v.problem for v in values.values() if v.problem]
    where = f"{path}" + (f" (a link to {real})" if real and real != path else "")
    source = f"librbd reads {where} as {client}" if path else f"no ceph.conf: {client} uses Ceph's defaults"
    if path and refusal:
        source = f"Ceph refuses {where} ({refusal}), so {client} gets none of its values"
    status = Status.WARN if problems else Status.OK
    message = f"Effective rbd cache settings: {source}."
    if problems:
        message += " " + " ".join(problems) + "."
    return Finding(status, "rbd cache settings", message,
                   "Size suffixes in ceph.conf are M/G (64M = 64 MiB, no blank); seconds are plain numbers." if problems else "",
                   (Evidence(real or path or "Ceph's defaults", "\n".join(lines)),))


def _ignored_findings(document: cephconf.CephConf, path: str, client: str) -> list[Finding]:
    found = []
    for setting in cephconf.ignored_settings(document, client):
        proper = setting.option.replace("_", " ")
        found.append(Finding(Status.WARN, setting.option, f"`{setting.raw_key.strip()}` in [{setting.section}] "
                             "is spelled with dashes: Ceph reads ceph.conf keys only with blanks or underscores, "
                             f"so this line sets nothing and {setting.option} keeps its other value.",
                             f"Write it `{proper} = {setting.value}` or `{setting.option} = {setting.value}`.",
                             (Evidence(path, f"{setting.number}: {setting.text.strip()}"),)))
    return found


def _constraint_findings(values: dict[str, EffectiveValue]) -> list[Finding]:
    size, max_dirty, target = (values[n].value for n in ("rbd_cache_size", "rbd_cache_max_dirty",
                                                         "rbd_cache_target_dirty"))
    found = []
    evidence = (Evidence("rbd.yaml.in constraints", "rbd_cache_max_dirty < rbd_cache_size; "
                         "rbd_cache_target_dirty < rbd_cache_max_dirty"),)
    if max_dirty and max_dirty >= size:
        found.append(Finding(Status.WARN, "rbd_cache_max_dirty", f"rbd_cache_max_dirty ({size_text(max_dirty)}) "
                             f"is not below rbd_cache_size ({size_text(size)}), as Ceph requires.",
                             "Keep max dirty at about 3/4 of the size (defaults 24 of 32 MiB; guide 48 of 64 MiB).",
                             evidence))
    if max_dirty and target >= max_dirty:
        found.append(Finding(Status.WARN, "rbd_cache_target_dirty", f"rbd_cache_target_dirty ({size_text(target)}) "
                             f"is not below rbd_cache_max_dirty ({size_text(max_dirty)}), as Ceph requires.",
                             "Keep target dirty at about 2/3 of max dirty (defaults 16 of 24 MiB).", evidence))
    return found


def _comparison_finding(values: dict[str, EffectiveValue]) -> Finding:
    table = options_table()
    rows = []
    for name, row in table.items():
        value = values[name].value
        mark = "default" if value == row.default else ("guide" if value == row.guide else "custom")
        rows.append(f"{name}: {_show(name, value)} ({mark}; default {_show(name, row.default)}, "
                    f"guide {_show(name, row.guide)})")
    at_default = all(values[n].value == table[n].default for n in table)
    at_guide = all(values[n].value == table[n].guide for n in table)
    words = "Ceph's defaults" if at_default else ("the guide's values" if at_guide else "a mix of values")
    return Finding(Status.OK, "defaults and guide", f"The cache settings are {words}. The guide doubles the "
                   "defaults (64 MiB per disk, 48 MiB max dirty, 32 MiB target, 2 s); that doubles the RAM per "
                   "disk too.", "If unsure, keep the defaults and just enable the cache: turning it on per disk "
                   "(cache=writeback) is what makes the difference; the guide's values are an option "
                   "(`--choose ceph.values=guide`).", (Evidence("ssdwizard/data/ceph_rbd_cache.toml", "\n".join(rows)),))


def _mode_findings(vms: list[Vm], values: dict[str, EffectiveValue]) -> list[Finding]:
    found = []
    off = [d for vm in vms for d in vm.disks if not d.cache_on]
    if off:
        conf_says = values["rbd_cache"]
        evidence = tuple(Evidence(d.config_path, f"{d.line}: {d.key}: {d.value}") for d in off)
        found.append(Finding(
            Status.WARN, "cache mode",
            f"{len(off)} of {sum(len(vm.disks) for vm in vms)} librbd disks run with the QEMU cache mode none or "
            f"directsync ({', '.join(f'VM {d.vmid} {d.key}' for d in off)}): QEMU turns the rbd cache off for "
            f"them whatever ceph.conf says (rbd_cache = {_show('rbd_cache', conf_says.value)} there). A disk "
            "without cache= gets Proxmox's default, none.",
            "Set cache=writeback on these disks (the plan does it with `qm set`): write-back is as safe as a "
            "disk with a volatile write cache for any guest that sends flushes, and "
            "rbd_cache_writethrough_until_flush keeps it write-through until the guest's first flush.",
            evidence))
    unsafe = [d for vm in vms for d in vm.disks if d.mode == "unsafe"]
    if unsafe:
        found.append(Finding(Status.WARN, "cache mode", "cache=unsafe on " + ", ".join(f"VM {d.vmid} {d.key}"
                             for d in unsafe) + ": QEMU ignores the guest's flushes, so a host crash or power "
                             "loss loses data the guest believes is written.", "Use cache=writeback instead.",
                             tuple(Evidence(d.config_path, f"{d.line}: {d.key}: {d.value}") for d in unsafe)))
    efi = [d for vm in vms for d in vm.disks if d.key == "efidisk0" and d.cache is None]
    if efi:
        found.append(Finding(Status.OK, "efidisk0", "EFI disks on librbd without cache= (" + ", ".join(
            f"VM {d.vmid}" for d in efi) + ") get cache=writeback from qemu-server (OVMF's flash writes are very "
            "slow on RBD without it, Proxmox bug #3329): counted with the cache on.", "",
            tuple(Evidence(d.config_path, f"{d.line}: {d.key}: {d.value}") for d in efi)))
    skipped = [(vm, s) for vm in vms for s in vm.skipped]
    if skipped:
        found.append(Finding(Status.OK, "not librbd", "Not counted, because librbd is not involved: " + "; ".join(
            f"VM {vm.vmid} {s}" for vm, s in skipped) + ".", "", (Evidence(STORAGE_CFG, ", ".join(
                sorted({s.split(' ')[0] for _, s in skipped}))),)))
    return found


def reserved(disks: list[RbdDisk] | tuple[RbdDisk, ...], size: int) -> int:
    return sum(size for d in disks if d.cache_on)


def _ram_findings(vms: list[Vm], size: int, here: str | None, mem_total: int | None,
                  mem_evidence: Evidence | None) -> list[Finding]:
    found = []
    by_node: dict[str, list[Vm]] = {}
    for vm in vms:
        if vm.disks:
            by_node.setdefault(vm.node, []).append(vm)
    limit = ram_share_warn()
    for node in sorted(by_node, key=lambda n: (n != here, n)):
        node_vms = by_node[node]
        total = sum(reserved(vm.disks, size) for vm in node_vms)
        on = sum(1 for vm in node_vms for d in vm.disks if d.cache_on)
        lines = []
        for vm in node_vms:
            state = {True: "running", False: "stopped", None: "state unknown here"}[vm.running]
            count = sum(1 for d in vm.disks if d.cache_on)
            modes = ", ".join(f"{d.key} {d.mode}" for d in vm.disks)
            lines.append(f"VM {vm.vmid} ({state}): {count} of {len(vm.disks)} librbd disks with the cache on × "
                         f"{size_text(size)} = {size_text(count * size)}  [{modes}]")
        message = (f"{node}: {on} disk{'s' if on != 1 else ''} with the rbd cache on × {size_text(size)} = up to "
                   f"{size_text(total)} of RAM in the QEMU processes, on top of the VMs' memory")
        status = Status.OK
        advice = ""
        evidence = [Evidence(", ".join(sorted({vm.config_path.rsplit('/', 1)[0] for vm in node_vms})),
                             "\n".join(lines))]
        if node == here and mem_total:
            share = total / mem_total
            message += f" ({share:.1%} of {size_text(mem_total)} RAM)"
            if share > limit:
                status = Status.WARN
                advice = (f"More than {limit:.0%} of the node's RAM: nothing in Proxmox accounts for it. Keep "
                          "the default 32 MiB, or leave the cache off on disks that do not need it.")
            if mem_evidence:
                evidence.append(mem_evidence)
        found.append(Finding(status, node, message + ".", advice, tuple(evidence)))
    return found


def _summary(vms: list[Vm], disks: list[RbdDisk], size: int, here: str | None) -> str:
    if not disks:
        return "Ceph is configured, but no VM disk uses librbd."
    on = [d for d in disks if d.cache_on]
    local = reserved([d for d in disks if d.node == here], size)
    parts = [f"{len(disks)} librbd disk{'s' if len(disks) != 1 else ''} in {len(vms)} VM{'s' if len(vms) != 1 else ''}",
             f"rbd cache on for {len(on)}"]
    if here:
        parts.append(f"up to {size_text(local)} RAM on {here}")
    off = len(disks) - len(on)
    if off:
        parts.append(f"{off} with cache=none get no rbd cache")
    return "; ".join(parts)


# ---- the plan ---------------------------------------------------------------------------------------

def with_cache(value: str, mode: str = "writeback") -> str:
    """The drive string with ``cache=mode``: an existing cache= is replaced in place; otherwise it is
    inserted where Proxmox's print_drive puts it (the volume first, then the options by name)."""
    parts = value.split(",")
    for index, part in enumerate(parts):
        if part.startswith("cache="):
            parts[index] = f"cache={mode}"
            return ",".join(parts)
    position = len(parts)
    for index, part in enumerate(parts[1:], start=1):
        if "=" in part and part.split("=", 1)[0] > "cache":
            position = index
            break
    parts.insert(position, f"cache={mode}")
    return ",".join(parts)


def _set_argv(disk: RbdDisk, value: str, here: str | None) -> tuple[str, ...]:
    """``qm`` only manages the VMs of the node it runs on; another node's VM goes through the API."""
    if here is None or disk.node == here:
        return ("qm", "set", str(disk.vmid), f"--{disk.key}", value)
    return ("pvesh", "set", f"/nodes/{disk.node}/qemu/{disk.vmid}/config", f"--{disk.key}", value)


def plan(result: StepResult, choices: Mapping[str, str]) -> Plan | None:
    """Made from ``result.observed`` alone; a skipped or broken probe observed nothing."""
    observed = result.observed
    if not isinstance(observed, Observed):
        return None
    choice = chosen(choices, CHOICE)
    here = observed.local_node
    table = options_table()
    disks = observed.disks
    changes: list[CommandRun | FileEdit] = []

    turned_on: list[RbdDisk] = []
    for disk in disks:
        if disk.cache_on:
            continue
        new = with_cache(disk.value)
        changes.append(CommandRun(_set_argv(disk, new, here), _set_argv(disk, disk.value, here),
                                  f"VM {disk.vmid} {disk.key}: {disk.mode_words} turns the rbd cache off; "
                                  "cache=writeback turns it on",
                                  StateCheck(disk.value, new, path=disk.config_path, key=disk.key)))
        turned_on.append(disk)

    wanted: dict[str, str] = {}
    if observed.value("rbd_cache") is False:
        wanted["rbd_cache"] = "true"
    if choice == "guide":
        for name, row in table.items():
            if observed.value(name) != row.guide:
                wanted[name] = row.guide_text
    warnings: list[str] = []
    if wanted and observed.config_refused is not None:
        # Editing one line of a file Ceph refuses would still leave every value unread, and the
        # diff would look like a fix. The admin fixes the broken line first; the next run plans.
        warnings.append(f"{observed.config_path} is not edited: Ceph refuses it ({observed.config_refused}), so "
                        f"no value written there would apply. Fix that line, then run the wizard again to set "
                        f"{', '.join(wanted)}.")
        wanted = {}
    conf_change = _conf_change(observed, wanted, choice)
    if conf_change is not None:
        changes.extend(conf_change)

    if not changes:
        return Plan(ID, (), tuple(warnings)) if warnings else None
    old_size = observed.value("rbd_cache_size")
    new_size = table["rbd_cache_size"].guide if "rbd_cache_size" in wanted else old_size
    return Plan(ID, tuple(changes), tuple(warnings + _ram_warnings(observed, turned_on, old_size, new_size)),
                tuple(_notes(observed, turned_on, bool(wanted))))


def _conf_change(observed: Observed, wanted: Mapping[str, str], choice: str) -> list[CommandRun | FileEdit] | None:
    if not wanted:
        return None
    text, real = observed.config_text, observed.config_path
    words = "the guide's values" if choice == "guide" else "rbd_cache = true"
    if text is None or real is None:
        # No ceph.conf to edit: the monitors' config database serves every client of the cluster.
        return [CommandRun(("ceph", "config", "set", "client", name, value), ("ceph", "config", "rm", "client", name),
                           f"set {name} = {value} for all librbd clients ({words})") for name, value in wanted.items()]
    after = text
    for name, value in wanted.items():
        after = _set_option(after, name, value, observed.client)
    keys = ", ".join(f"{name} = {value}" for name, value in wanted.items())
    return [FileEdit(real, text, after, f"[client] {keys} ({words}); pmxcfs shares /etc/pve/ceph.conf with every "
                     "node" if real == PVE_CEPH_CONF else f"[client] {keys} ({words})")]


def _set_option(text: str, option: str, value: str, client: str) -> str:
    """One option set in the file. A line Ceph ignores because of its dashes
    (``rbd-cache-max-dirty``) is the admin's attempt at this very option: it is corrected in place
    (key spelled with underscores, new value) rather than left dead beside a new line."""
    document = cephconf.parse(text)
    section = _section_for(document, option, client)
    if document.get(section, option) is None:
        dashed = [s for s in cephconf.ignored_settings(document, client)
                  if s.option == option and s.section == section]
        if dashed:
            line = dashed[-1]
            fixed = line.with_value(value).replace(line.raw_key.strip(), option, 1)
            return "".join(fixed if entry is line else entry.raw for entry in document.lines)
    return cephconf.set_value(document, section, option, value)


def _section_for(document: cephconf.CephConf, option: str, client: str) -> str:
    """Where to write an option: the client section whose line decides it now, else [client] (which a
    client reads before [global], so a [global] value needs no edit)."""
    section = cephconf.effective(document, client, (option,))[option].section
    return section if section is not None and section != "global" else "client"


def _ram_warnings(observed: Observed, turned_on: list[RbdDisk], old_size: int, new_size: int) -> list[str]:
    disks, here, mem_total = observed.disks, observed.local_node, observed.mem_total
    turned = {(d.vmid, d.key) for d in turned_on}
    nodes = sorted({d.node for d in disks}, key=lambda n: (n != here, n))
    lines = []
    for node in nodes:
        mine = [d for d in disks if d.node == node]
        before = reserved(mine, old_size)
        after = sum(new_size for d in mine if d.cache_on or (d.vmid, d.key) in turned)
        if before == after:
            continue
        share = ""
        if node == here and mem_total:
            share = f" ({before / mem_total:.1%} → {after / mem_total:.1%} of its RAM)"
        lines.append(f"{node}: the rbd caches may take {size_text(before)} → {size_text(after)} of RAM{share}, "
                     "outside the VMs' memory settings.")
    return lines


def _notes(observed: Observed, turned_on: list[RbdDisk], conf_changed: bool) -> list[str]:
    here, disks, running = observed.local_node, observed.disks, observed.running
    others = [n for n in observed.nodes if n != here]
    target = others[0] if others else "OTHERNODE"
    notes: list[str] = []
    restart = sorted({d.vmid for d in turned_on if d.vmid in running})
    if restart:
        notes.append("Running VMs whose cache= changes: `qm set` stores the new mode as a pending change, applied "
                     "when Proxmox next starts the VM. A reboot from inside the guest is not enough (the QEMU "
                     "process stays), and a live migration carries the running configuration. Stop and start "
                     "them: " + "; ".join(f"`qm shutdown {v} && qm start {v}`" for v in restart) + ".")
    if conf_changed:
        on_after = {d.vmid for d in disks if d.cache_on or d in turned_on}
        migrate = sorted(v for v in on_after if v in running and v not in restart)
        if migrate:
            notes.append("librbd reads ceph.conf when QEMU starts: running VMs keep their old cache settings until "
                         "they run in a new QEMU process. A live migration does that without downtime (a reboot "
                         "from inside the guest does not): " + "; ".join(
                             shlex.join(("qm", "migrate", str(v), target, "--online")) for v in migrate) + ".")
    elsewhere = sorted({d.vmid for d in turned_on if d.node != here} |
                       ({d.vmid for d in disks if d.node != here} if conf_changed else set()))
    if elsewhere:
        notes.append("VMs on other nodes (" + ", ".join(f"VM {v} on {next(d.node for d in disks if d.vmid == v)}"
                     for v in elsewhere) + "): whether they run is only visible there (/var/run/qemu-server/VMID.pid); "
                     "restart or migrate them the same way from their node.")
    notes.append("The rbd cache is allocated per open disk image, up to rbd_cache_size each; per-image overrides "
                 "(`rbd config image set`) are not read here.")
    return notes
