"""Step 9, ``migration``: how Proxmox live-migrates VMs, and how much of the link it uses.

The guide sets ``migration_unsecure: 1`` in datacenter.cfg because migrating through the SSH
tunnel is slow. Today the key is ``migration: type=insecure,network=CIDR`` (the old one is
deprecated since PVE 4.3), and the advice comes with a condition the guide left out: an
insecure migration sends the VM's memory (its keys and passwords too) unencrypted, so it
belongs only on a dedicated private network, never on the management LAN. The step measures
the guide's claim on the node's own history: every migration left a task log with its speed,
and the link it ran over has a speed in sysfs (DESIGN §1 row 9).
"""

from __future__ import annotations

import ipaddress
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssdwizard.apply.plan import FileEdit, Plan
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import datacenter as dc
from ssdwizard.parsers.hosts import addresses_of, parse_hosts
from ssdwizard.parsers.pvetasks import (
    TASK_DIR,
    MigrationLog,
    TaskIndexEntry,
    migrations_from,
    parse_active,
    parse_index,
    parse_migration_log,
)
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.steps import chosen
from ssdwizard.machine.network import (
    HOSTS,
    IP_ADDR_ARGV,  # noqa: F401 - re-exported: the command this step runs (DESIGN §3.1)
    ClusterAddress,
    Link,
    NetView,
    cluster_address,
    short_number,
    hostname,
    is_private,
    link_of,
    network_of,
    read_network,
)

ID = "migration"
TITLE = "Live migration"

DATACENTER_CFG = "/etc/pve/datacenter.cfg"
TASK_INDEXES = (f"{TASK_DIR}/index", f"{TASK_DIR}/index.1")
TASK_ACTIVE = f"{TASK_DIR}/active"
# What a migration in the index says when its log file is missing (pruned, or never copied).
LOG_GONE = "its log file is gone"

#: The admin's choice for the plan: the CIDR of the dedicated migration network.
CHOICE_NETWORK = "migration.network"

_SSH_OBSERVATION = ("A secure migration goes through an ssh tunnel that encrypts on one CPU core: it tops out "
                    "at a few hundred MiB/s whatever the link. An insecure one sends the memory straight over "
                    "the link and can fill it.")
_READABLE = ("whatever the guests hold in RAM (keys, passwords, session tokens, database pages) can be read by "
             "anyone who can capture traffic on that network.")
_RISK = f"With type=insecure the VM's memory crosses the wire unencrypted: {_READABLE}"
_SET_UP_FIRST = ("To migrate faster without that risk, first give every node an address on a separate "
                 "network that carries nothing else: a spare NIC (or a VLAN on a fast one) with a private "
                 "subnet such as 10.10.10.0/24, not routed to the rest of the LAN (configure it in "
                 "/etc/network/interfaces or the node's Network panel). Then set "
                 "`migration: type=insecure,network=10.10.10.0/24` in /etc/pve/datacenter.cfg; until then "
                 "keep type=secure.")


# ---- what the plan is made from -------------------------------------------------------------------

@dataclass(frozen=True)
class ManagementNetwork:
    """A network an admin reaches the node on, and why it counts as such."""

    network: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NetworkUse:
    """A network this node has an address on, with the interface that carries it."""

    network: str
    interface: str
    address: str
    link: Link | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observed:
    """What the probe read that the plan needs, and nothing else: the planner works from this
    alone, never from the public facts (those are the report's)."""

    #: datacenter.cfg as it is ("" when there is none: the edit creates it).
    datacenter_text: str
    #: The deprecated ``migration_unsecure`` line is there (the edit drops it).
    legacy_present: bool
    #: The networks that must not carry an unencrypted migration.
    management: tuple[ManagementNetwork, ...]
    #: Every network this node has an address in (no loopback, no link-local).
    node_networks: tuple[str, ...]
    #: The private networks besides the management ones, with the link under each.
    candidates: tuple[NetworkUse, ...]
    #: The candidate the plan takes when the admin names none (None: there is none).
    default_network: str | None


# ---- the probe ------------------------------------------------------------------------------------

def probe(ctx: ProbeContext) -> StepResult:
    """Behind the Proxmox gate of the step table: this runs on a Proxmox VE node only."""
    settings = read_settings(ctx)
    node = hostname(ctx)
    view = read_network(ctx)
    cluster = cluster_address(ctx, node)
    hosts_text = ctx.read_text(HOSTS)
    named = addresses_of(parse_hosts(hosts_text), node) if hosts_text and node else ()
    management = management_networks(view, cluster, named[0].address if named else None)
    candidates = dedicated_candidates(ctx, view, management)
    history = read_history(ctx)

    findings = _settings_findings(settings)
    # The network migrations use: the configured one, else the cluster network.
    used_network, used_why = settings.network, "the migration network datacenter.cfg sets"
    if used_network is None and cluster is not None:
        cluster_net = next((str(i.network) for _, i in view.addresses() if str(i.ip) == cluster.address), None)
        used_network = cluster_net
        used_why = "the cluster network, as datacenter.cfg sets no migration network"
    used = carrier(view, used_network) if used_network else None
    link = link_of(ctx, view, used[0]) if used else None

    findings.append(_transport_finding(settings, used_network, used_why, used, link, cluster, view))
    findings.extend(_history_findings(history))
    measured = _measured(history)
    median = statistics.median(speed for _, _, speed in measured) if measured else None
    utilisation, util_finding = _utilisation(measured, median, link)
    if util_finding is not None:
        findings.append(util_finding)
    bwlimit, limit_finding = _bwlimit(settings, link, median)
    if limit_finding is not None:
        findings.append(limit_finding)
    default = _default_network(settings, candidates)
    findings.append(_advice_finding(settings, used_network, management, candidates, default))
    if cluster is not None and not cluster.in_cluster:
        findings.append(Finding(Status.OK, "cluster", "This node is not in a cluster (no /etc/pve/corosync.conf): "
                                "there is no other node to migrate to yet.", "", (cluster.evidence,)))

    facts = {
        "type": settings.type,
        "network": settings.network,
        "legacy_unsecure": settings.legacy_unsecure,
        "tasks": [m.fact() for m in history.migrations],
        "link_gbps": link.gbps if link else None,
        "utilisation": utilisation,
        "bwlimit_kib_s": bwlimit,
    }
    observed = Observed(
        datacenter_text=settings.text or "",
        legacy_present=settings.legacy_line is not None,
        management=tuple(ManagementNetwork(net, tuple(why)) for net, why in management.items()),
        node_networks=tuple(sorted({str(i.network) for _, i in view.addresses()
                                    if not i.ip.is_loopback and not i.ip.is_link_local})),
        candidates=tuple(candidates),
        default_network=default,
    )
    status = Status.worst([f.status for f in findings])
    return StepResult(ID, TITLE, status, _summary(settings, used_network, history, utilisation, link),
                      tuple(findings), facts, observed=observed)


# ---- datacenter.cfg ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """The migration settings in effect and where they came from."""

    text: str | None
    config: dc.DatacenterConfig | None
    type: str
    network: str | None
    legacy_line: dc.PropertyLine | None
    migration_line: dc.PropertyLine | None

    @property
    def legacy_unsecure(self) -> bool:
        return self.config is not None and self.config.legacy_unsecure is True

    @property
    def rejected(self) -> str | None:
        """Why pve-cluster drops the ``migration`` line, or ``None`` (accepted, or no such line).
        The type and network above are then what Proxmox uses without it, not what it says."""
        migration = self.config.migration if self.config is not None else None
        return migration.rejected if migration is not None else None

    @property
    def defaulted(self) -> bool:
        """Nothing in datacenter.cfg that Proxmox reads sets the type: its default applies."""
        return self.legacy_line is None and (self.migration_line is None or self.rejected is not None)

    @property
    def from_legacy(self) -> bool:
        """The type in effect comes from the deprecated key (no ``migration`` type is set)."""
        return self.legacy_line is not None and not (self.config is not None and self.config.legacy_ignored)

    def evidence(self) -> Evidence:
        if self.text is None:
            return Evidence(DATACENTER_CFG, "(no such file: Proxmox's defaults apply)")
        lines = [f"line {line.number}: {line.text}" for line in (self.migration_line, self.legacy_line) if line]
        return Evidence(DATACENTER_CFG, "\n".join(lines) or "(no migration or migration_unsecure line)")


def read_settings(ctx: ProbeContext) -> Settings:
    """The settings in effect: the parser's ``migration_type``/``migration_network`` are what
    pve-cluster uses (a rejected ``migration`` line counts as absent), never the lenient reading."""
    text = ctx.read_text(DATACENTER_CFG)
    if text is None:
        return Settings(None, None, dc.DEFAULT_MIGRATION_TYPE, None, None, None)
    config = dc.parse(text)
    return Settings(text, config, config.migration_type, config.migration_network,
                    config.get(dc.LEGACY_KEY), config.get("migration"))


# ---- networks -------------------------------------------------------------------------------------

def management_networks(view: NetView, cluster: ClusterAddress | None,
                        hosts_address: str | None) -> dict[str, list[str]]:
    """The networks an admin reaches the node on: the gateway's, vmbr0's, the cluster's, the
    host name's. Each with why it counts."""
    found: dict[str, list[str]] = {}
    addresses = view.addresses()

    def add(ifname: str | None, address: str | None, why: str) -> None:
        for name, iface in addresses:
            if (ifname is not None and name == ifname) or (address is not None and str(iface.ip) == address):
                if iface.ip.is_link_local or iface.ip.is_loopback:
                    continue
                found.setdefault(str(iface.network), [])
                if why not in found[str(iface.network)]:
                    found[str(iface.network)].append(why)

    for conf in view.configured.interfaces if view.configured else ():
        if conf.gateway:
            add(conf.name, None, f"the default gateway {conf.gateway} is on it")
    add("vmbr0", None, "vmbr0, the installer's management bridge, is on it")
    if cluster is not None:
        add(None, cluster.address, f"it is the cluster network ({cluster.address})")
    if hosts_address is not None:
        add(None, hosts_address, f"/etc/hosts names the node there ({hosts_address})")
    return found


def _overlaps(network: str, others: Iterable[str]) -> bool:
    """Whether ``network`` overlaps any of ``others`` (CIDRs; a mapping's keys)."""
    mine = network_of(network)
    if mine is None:
        return False
    for text in others:
        other = network_of(text)
        if other is not None and other.version == mine.version and mine.overlaps(other):
            return True
    return False


def dedicated_candidates(ctx: ProbeContext, view: NetView, management: Mapping[str, list[str]]) -> list[NetworkUse]:
    """Private networks on this node that are not the management network: where an insecure
    migration may go."""
    seen: set[str] = set()
    found: list[NetworkUse] = []
    for name, iface in view.addresses():
        net = iface.network
        if iface.ip.is_loopback or iface.ip.is_link_local or net.prefixlen == net.max_prefixlen:
            continue
        if str(net) in seen or not is_private(net) or _overlaps(str(net), management):
            continue
        seen.add(str(net))
        found.append(NetworkUse(str(net), name, str(iface.ip), link_of(ctx, view, name)))
    return found


def carrier(view: NetView, network: str) -> tuple[str, str] | None:
    """(interface, address) of this node's first address inside a CIDR."""
    net = network_of(network)
    if net is None:
        return None
    return next(((name, str(iface.ip)) for name, iface in view.addresses()
                 if iface.ip.version == net.version and iface.ip in net), None)


def _default_network(settings: Settings, candidates: list[NetworkUse]) -> str | None:
    if not candidates:
        return None
    configured = network_of(settings.network) if settings.network else None
    for candidate in candidates:
        if configured is not None and str(configured) == candidate.network:
            return candidate.network
    return max(candidates, key=lambda c: (c.link.mbps or 0) if c.link else 0).network


# ---- task history ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Migration:
    entry: TaskIndexEntry
    log: MigrationLog | None
    log_note: str | None = None

    @property
    def path(self) -> str:
        return self.entry.upid.log_path

    @property
    def vmid(self) -> int | None:
        return (self.log.vmid if self.log and self.log.vmid is not None else None) or self.entry.upid.vmid

    @property
    def status(self) -> str:
        if self.log is not None and self.log.status in ("ok", "error"):
            return self.log.status
        return "ok" if self.entry.outcome in ("ok", "warning") else "error"

    @property
    def started(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.entry.upid.starttime))

    def fact(self) -> dict[str, Any]:
        log = self.log
        return {
            "vmid": self.vmid,
            "target": log.target_node if log else None,
            "status": self.status,
            "speed_mib_s": log.speed_mib_s if log else None,
            "downtime_ms": log.downtime_ms if log else None,
            "duration_s": log.duration_s if log else None,
            "transferred_bytes": log.transferred_bytes if log else None,
        }


@dataclass
class History:
    migrations: list[Migration] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[Evidence] = field(default_factory=list)
    running: int = 0


def read_history(ctx: ProbeContext) -> History:
    """The node's ``qmigrate`` tasks from the task index (and its rotated copy and the active
    list), each with what its log says; newest first."""
    history = History()
    entries: dict[str, TaskIndexEntry] = {}
    for path in (*TASK_INDEXES, TASK_ACTIVE):
        text = ctx.read_text(path)
        if text is None:
            continue
        history.sources.append(path)
        try:
            index = parse_active(text, path) if path == TASK_ACTIVE else parse_index(text, path)
        except ParseError as exc:
            history.notes.append(Evidence(path, exc.message))
            continue
        for entry in index.migrations:
            known = entries.get(entry.upid.text)
            if known is None or (known.endtime is None and entry.endtime is not None):
                entries[entry.upid.text] = entry
    for entry in migrations_from(entries.values()):
        if entry.endtime is None:
            history.running += 1
            continue
        text = ctx.read_text(entry.upid.log_path)
        if text is None:
            history.migrations.append(Migration(entry, None, LOG_GONE))
            continue
        try:
            history.migrations.append(Migration(entry, parse_migration_log(text, entry.upid.log_path)))
        except ParseError as exc:
            history.migrations.append(Migration(entry, None, exc.message))
    return history


# ---- findings -------------------------------------------------------------------------------------

def _settings_findings(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    config, ev = settings.config, (settings.evidence(),)
    migration = config.migration if config is not None else None
    if migration is not None and migration.rejected is not None and settings.migration_line is not None:
        findings.append(_rejected_finding(settings, migration, settings.migration_line))
    if settings.legacy_line is not None:
        ignored = config is not None and config.legacy_ignored
        message = (f"`{settings.legacy_line.text.strip()}` is deprecated since {dc.LEGACY_SINCE}, when "
                   "`migration: type=...` replaced it.")
        if ignored:
            message += (" The migration line sets a type too, so Proxmox ignores the old key (and warns "
                        "about it at every migration).")
        else:
            message += f" Proxmox still reads it while no migration type is set: type={settings.type}."
        findings.append(Finding(Status.WARN, dc.LEGACY_KEY, message,
                                "Remove it and set the type on the migration line instead (the plan does "
                                "both where a dedicated network exists).", ev))
    return findings


def _rejected_finding(settings: Settings, migration: dc.MigrationSettings, line: dc.PropertyLine) -> Finding:
    """pve-cluster drops a ``migration`` value its schema rejects (with a warning in the log
    only), so what the line says is not what migrations do."""
    if settings.from_legacy:
        effect = (f"migration is {settings.type} (from the deprecated {dc.LEGACY_KEY}, which fills in) "
                  "over the cluster network")
    else:
        effect = "migration is secure (the ssh tunnel, Proxmox's default) over the cluster network"
    message = (f"pve-cluster ignores this migration line: {migration.rejected}. Proxmox drops a value its "
               f"schema rejects (with only a 'parse error' warning in its log), so {effect}, whatever the line "
               "says.")
    meant = None
    if migration.type is not None:
        try:
            meant = dc.format_migration(migration.type, migration.network)
        except ValueError:  # the type or network itself is what Proxmox rejects
            meant = None
    if meant is not None:
        advice = (f"Fix the line: `migration: {meant}` (one value, no blank after a comma, no remark on the "
                  "line; a `#` comment needs a line of its own).")
    else:
        advice = ("Fix the line: `migration: type=secure` or `migration: type=insecure,network=10.1.2.0/24` "
                  "(a type is required; no blank after a comma, no remark on the line; a `#` comment needs "
                  "a line of its own).")
    return Finding(Status.WARN, "datacenter.cfg", message, advice,
                   (Evidence(f"{DATACENTER_CFG}:{line.number}", line.text),))


def mib_to_gbit(mib_s: float) -> float:
    """MiB/s to Gbit/s: × 8 bits × 1.048576 (MiB → MB) / 1000."""
    return mib_s * 8 * 1.048576 / 1000


def _task_line(m: Migration) -> str:
    vm = f"VM {m.vmid}" if m.vmid is not None else "a VM"
    target = (m.log.target_node if m.log else None) or "?"
    if m.status == "error":
        return f"{vm} → {target} on {m.started}: failed"
    log = m.log
    if log is None:
        return f"{vm} → {target} on {m.started}: ok ({m.log_note})"
    parts = [log.speed_text or "no speed logged"]
    if log.downtime_ms is not None:
        parts.append(f"downtime {log.downtime_ms} ms")
    if log.duration_s is not None:
        parts.append(f"{log.duration_s} s")
    if log.transferred_bytes is not None:
        parts.append(f"{log.transferred_bytes / 2**30:.1f} GiB sent")
    if log.migration_type:
        parts.append("through the ssh tunnel" if log.migration_type == "secure" else "unencrypted, direct")
    return f"{vm} → {target} on {m.started}: " + ", ".join(parts)


def _history_findings(history: History) -> list[Finding]:
    sources = ", ".join(history.sources) or f"{TASK_DIR}/index"
    if not history.migrations:
        message = f"No live migration in the task log ({sources}): nothing to measure yet."
        if not history.sources:
            message = f"There is no task index ({TASK_DIR}/index): this node has no migration history to measure."
        return [Finding(Status.OK, "history", message,
                        "Migrate a VM once (`qm migrate VMID NODE --online`) and run the wizard again to see "
                        "how much of the link a migration uses.",
                        tuple(history.notes) or (Evidence(sources, "(no qmigrate task)"),))]
    ok = [m for m in history.migrations if m.status == "ok"]
    failed = [m for m in history.migrations if m.status == "error"]
    evidence = []
    for m in history.migrations:
        lines = (m.log.evidence_for("error") or m.log.evidence_for("status")) if m.log and m.status == "error" \
            else (m.log.evidence_for("speed") if m.log else ())
        excerpt = "\n".join(line.text for line in lines) or (m.log_note or f"index: {m.entry.status}")
        evidence.append(Evidence(m.path, excerpt))
    findings = [Finding(Status.OK, "history",
                        f"{len(history.migrations)} live migration(s) in the task log ({len(ok)} ok, "
                        f"{len(failed)} failed), newest first: " + "; ".join(_task_line(m) for m in history.migrations)
                        + ".", "", tuple(evidence) + tuple(history.notes))]
    for m in failed:
        findings.append(_failure_finding(m))
    return findings


def _failure_finding(m: Migration) -> Finding:
    log = m.log
    target = (log.target_node if log else None) or "?"
    if log is not None and log.error:
        error = log.error + (f": {log.error_detail}" if log.error_detail else "")
        lines = log.evidence_for("error") + log.evidence_for("status")
    else:
        error = m.entry.status or "unknown error"
        lines = ()
    excerpt = "\n".join(line.text for line in lines) or f"{TASK_DIR}/index: {m.entry.upid.text} {m.entry.status}"
    # Only a log says why; a failure whose log is gone has just the index's status line.
    if log is not None:
        advice = f"Read the whole log: `cat '{m.path}'`."
    elif m.log_note == LOG_GONE:
        advice = f"Its task log {m.path} is gone (Proxmox prunes old ones): the index's status is all that is left."
    else:
        advice = f"Its task log does not read as a migration log ({m.log_note}): look at it with `cat '{m.path}'`."
    if log is not None and ("public key" in error or any("Host key" in e for e in log.errors)
                            or "Host key verification failed" in excerpt):
        advice = (f"The ssh host key of {target} changed or is unknown (a reinstalled node?). Make sure it really "
                  f"is {target}, then refresh the cluster's keys with `pvecm updatecerts` on both nodes and test "
                  f"`ssh -o HostKeyAlias={target} root@{log.target_ip or target} /bin/true`. " + advice)
    elif log is not None and ("too old to run machine type" in (log.error_detail or "")
                              or "remote command failed" in error):
        advice = (f"The command on {target} failed: compare the package versions of both nodes "
                  f"(`pveversion -v`) and upgrade the older one. " + advice)
    vm = f"VM {m.vmid}" if m.vmid is not None else "a VM"
    return Finding(Status.WARN, f"{vm} → {target}", f"The migration of {vm} to {target} on {m.started} failed: "
                   f"{error}", advice, (Evidence(m.path, excerpt),))


def _transport_finding(settings: Settings, network: str | None, why: str, used: tuple[str, str] | None,
                       link: Link | None, cluster: ClusterAddress | None, view: NetView) -> Finding:
    kind = settings.type + (f" (from the deprecated {dc.LEGACY_KEY})" if settings.from_legacy else "")
    if settings.text is None or settings.defaulted:
        kind += " (Proxmox's default)"
    evidence = [settings.evidence()]
    if cluster is not None and settings.network is None:
        evidence.append(cluster.evidence)
    evidence.extend(view.notes)
    if network is None:
        return Finding(Status.WARN, "link", f"Migration type {kind}, over the cluster network; the node's cluster "
                       "address was not found (no corosync.conf entry or /etc/hosts line for it), so the link "
                       "cannot be measured.", "Check /etc/hosts: the node name must resolve to its cluster address.",
                       tuple(evidence))
    if used is None:
        return Finding(Status.WARN, "link", f"Migration type {kind}, over {network} ({why}); but this node has no "
                       f"address in {network}: Proxmox cannot pick a migration address and migrations from here "
                       "fail ('could not get migration ip').",
                       f"Give this node an address in {network}, or change the migration network.", tuple(evidence))
    ifname, address = used
    live = view.live_iface(ifname)
    evidence.append(Evidence(view.source(), f"{ifname}: {address}" + (f" ({live.state})" if live else "")))
    if link is None:
        return Finding(Status.OK, "link", f"Migration type {kind}, over {network} ({why}), on {ifname}.", "",
                       tuple(evidence))
    evidence.append(link.evidence())
    speed = (f"{short_number(link.gbps)} Gbit/s" if link.gbps is not None else
             "speed unknown (a port reports no speed: no link, or a virtual NIC)")
    message = f"Migration type {kind}, over {network} ({why}), on {link.path}: {speed}."
    if link.notes:
        message += " " + " ".join(link.notes)
    return Finding(Status.OK, "link", message, "", tuple(evidence))


def _measured(history: History) -> list[tuple[str, MigrationLog, float]]:
    """The migrations that ended well and logged their speed: (task log path, log, MiB/s)."""
    return [(m.path, m.log, m.log.speed_mib_s) for m in history.migrations
            if m.status == "ok" and m.log is not None and m.log.speed_mib_s is not None]


def _utilisation(measured: list[tuple[str, MigrationLog, float]], median: float | None,
                 link: Link | None) -> tuple[float | None, Finding | None]:
    if not measured or median is None:
        return None, None
    gbit = mib_to_gbit(median)
    label = (f"averaged {short_number(median)} MiB/s" if len(measured) == 1
             else f"ran at a median {short_number(median)} MiB/s over {len(measured)} migrations")
    evidence = tuple(Evidence(path, "\n".join(line.text for line in log.evidence_for("speed")))
                     for path, log, _ in measured)
    secure = [log for _, log, _ in measured if log.migration_type == "secure"]
    observation = _SSH_OBSERVATION if secure else ""
    if link is None or link.gbps is None:
        reason = "the link's speed is unknown" if link is not None else "the migration link was not found"
        return None, Finding(Status.OK, "utilisation", f"Migrations {label} = {gbit:.2f} Gbit/s; {reason}, so "
                             "the share of the link cannot be given.", observation, evidence)
    share = gbit / link.gbps
    message = (f"Migrations {label} = {gbit:.2f} Gbit/s: {share * 100:.0f} % of the {short_number(link.gbps)} Gbit/s "
               f"link ({link.path}).")
    if secure:
        message += f" {len(secure)} of {len(measured)} went through the ssh tunnel (secure)."
    return round(share, 4), Finding(Status.OK, "utilisation", message, observation, evidence)


def kib_to_gbit(kib_s: float) -> float:
    return kib_s * 1024 * 8 / 1e9


def _bwlimit(settings: Settings, link: Link | None, median_mib_s: float | None) -> tuple[float | None, Finding | None]:
    """The limit migrations get from ``bwlimit: migration=…`` (or ``default=``) in KiB/s (None:
    none, 0 counting as none), and the finding that sets it against the link: a limit is often
    set once for a 1 GbE cluster network and forgotten when migration moved to 10 GbE."""
    line = settings.config.get("bwlimit") if settings.config is not None else None
    if line is None:
        return None, None
    evidence = (Evidence(f"{DATACENTER_CFG}:{line.number}", line.text),)
    parsed = dc.parse_bwlimit(line.value)
    limit = parsed.limit_for("migration") or None
    return limit, _bwlimit_finding(parsed, limit, link, median_mib_s, evidence)


def _bwlimit_finding(parsed: dc.Bwlimit, limit: float | None, link: Link | None, median_mib_s: float | None,
                     evidence: tuple[Evidence, ...]) -> Finding:
    if parsed.problems:
        return Finding(Status.WARN, "bwlimit", f"The bwlimit line is dropped by Proxmox ({'; '.join(parsed.problems)}): "
                       "no datacenter-wide limit applies.",
                       "Write it as bwlimit: migration=KIB_PER_S (KiB/s), or remove it.", evidence)
    if not limit:
        return Finding(Status.OK, "bwlimit", "bwlimit sets no limit for migrations (no migration= or default=, or 0).",
                       "", evidence)
    gbit = kib_to_gbit(limit)
    message = f"bwlimit caps migrations at {short_number(limit)} KiB/s = {gbit:.2f} Gbit/s"
    at_limit = median_mib_s is not None and mib_to_gbit(median_mib_s) >= 0.9 * gbit
    advice = ("A storage's own bwlimit in storage.cfg and qm migrate --bwlimit can lower it further; "
              "the lower limit wins.")
    if link is None or link.gbps is None:
        return Finding(Status.OK, "bwlimit", message + "; the link's speed is unknown.", advice, evidence)
    share = gbit / link.gbps
    message += f", {share * 100:.0f} % of the {short_number(link.gbps)} Gbit/s migration link."
    if share < 0.9 and at_limit:
        return Finding(Status.WARN, "bwlimit", message + " Past migrations ran at that limit: the limit, not the "
                       "link, sets their speed.",
                       f"Raise it (e.g. bwlimit: migration={int(link.gbps * 1e9 / 8 / 1024 * 0.9)} for 90 % of the "
                       "link) if the link is free for migrations, or keep it to protect other traffic on it. " + advice,
                       evidence)
    return Finding(Status.OK, "bwlimit", message, advice, evidence)


def _advice_finding(settings: Settings, network: str | None, management: Mapping[str, list[str]],
                    candidates: list[NetworkUse], default: str | None) -> Finding:
    ev = (settings.evidence(),)
    net = network_of(network) if network else None
    mgmt_why = "; ".join(why for m, whys in management.items() if network and _overlaps(m, {network: 0})
                         for why in whys)
    target = next((c for c in candidates if c.network == default), None)
    offer = ""
    if target is not None:
        offer = (f" The plan sets `migration: type=insecure,network={target.network}` (on "
                 f"{target.link.describe() if target.link else target.interface})"
                 + (f" and removes {dc.LEGACY_KEY}" if settings.legacy_line is not None else "") + ".")
    if settings.type == "insecure":
        if net is not None and not is_private(net):
            return Finding(Status.FAIL, "security", f"Migrations are insecure over {network}, which is not a "
                           f"private network. {_RISK}",
                           "Set `migration: type=secure` now." + (offer or f" {_SET_UP_FIRST}"), ev)
        if net is not None and mgmt_why:
            return Finding(Status.WARN, "security", f"Migrations are insecure over {network}, the management "
                           f"network ({mgmt_why}). {_RISK}", (offer.strip() if offer else
                           f"Set `migration: type=secure` until a dedicated network exists. {_SET_UP_FIRST}"), ev)
        if net is None:
            return Finding(Status.WARN, "security", f"Migrations are insecure, and the network they use is "
                           f"unknown. {_RISK}", offer.strip() or _SET_UP_FIRST, ev)
        return Finding(Status.OK, "security", f"Migrations are insecure over {network}, a private network that "
                       "is not the management network: memory goes at link speed, unencrypted, on a network "
                       "only the nodes should see.", "Keep that network closed: no guests, no routing to the LAN.",
                       ev)
    if target is not None:
        return Finding(Status.OK, "security", f"Migrations are secure (ssh). This node has a dedicated private "
                       f"network, {target.network} on {target.interface}, where an insecure migration could use "
                       "the link's full speed.", f"{_RISK} On a network only the nodes reach, that is an "
                       f"accepted trade.{offer}", ev)
    return Finding(Status.OK, "security", "Migrations are secure (ssh), and this node has no dedicated private "
                   "network besides the management network: keep it that way for now.", _SET_UP_FIRST, ev)


def _summary(settings: Settings, network: str | None, history: History, utilisation: float | None,
             link: Link | None) -> str:
    kind = settings.type + (f" via deprecated {dc.LEGACY_KEY}" if settings.from_legacy else "")
    parts = [f"{kind} over {network or 'an unknown network'}"]
    ok = [m for m in history.migrations if m.status == "ok"]
    failed = len(history.migrations) - len(ok)
    if history.migrations:
        parts.append(f"{len(history.migrations)} migrations ({failed} failed)")
    else:
        parts.append("no migration history")
    if utilisation is not None and link is not None:
        parts.append(f"{utilisation * 100:.0f} % of the {short_number(link.gbps)} Gbit/s link")
    return "; ".join(parts)


# ---- the plan -------------------------------------------------------------------------------------

def _network(observed: Observed, choices: Mapping[str, str]) -> str:
    """The admin's free-text network, else the dedicated one the probe found ("" for none)."""
    return chosen(choices, CHOICE_NETWORK) or observed.default_network or ""


def refusal(result: StepResult, choices: Mapping[str, str]) -> str | None:
    """Why there is no plan for these choices, in words; None when a plan can be made."""
    observed = result.observed
    if not isinstance(observed, Observed):
        return "Not a Proxmox VE node."
    network = _network(observed, choices)
    if not network:
        return ("This node has no dedicated private network for migration. " + _SET_UP_FIRST)
    net = network_of(network)
    if net is None or "/" not in network:
        return f"{network!r} is not a network in CIDR form (like 10.10.10.0/24)."
    if not is_private(net):
        return (f"{net} is not a private network (RFC 1918 or fc00::/7): an insecure migration would send VM "
                "memory unencrypted where others can read it.")
    if _overlaps(str(net), [m.network for m in observed.management]):
        whys = "; ".join(w for m in observed.management if _overlaps(m.network, (str(net),)) for w in m.reasons)
        return f"{net} is the management network ({whys}): VM memory must not cross it unencrypted."
    if not any(_overlaps(str(net), (n,)) for n in observed.node_networks):
        return f"This node has no address in {net}; Proxmox needs one on every node to migrate over it."
    return None


def plan(result: StepResult, choices: Mapping[str, str]) -> Plan | None:
    """The datacenter.cfg edit: ``migration: type=insecure,network=CIDR`` and the deprecated key
    removed, only for a private network that is not the management network. Made from
    ``result.observed`` alone; a skipped or broken probe observed nothing."""
    observed = result.observed
    if not isinstance(observed, Observed) or refusal(result, choices) is not None:
        return None
    network = str(ipaddress.ip_network(_network(observed, choices), strict=False))
    before = observed.datacenter_text
    after = dc.parse(before).with_migration("insecure", network)
    if after == before:
        return None
    why = f"migrate over the dedicated network {network} without the ssh tunnel"
    if observed.legacy_present:
        why += f"; drop the deprecated {dc.LEGACY_KEY}"
    candidate = next((c for c in observed.candidates if c.network == network), None)
    notes = [f"datacenter.cfg is cluster-wide: every node migrates over {network} from then on, so every node "
             f"needs exactly one address in it.",
             "Takes effect with the next migration; nothing restarts."]
    if candidate is not None and candidate.link is not None:
        notes.append(f"On this node: {candidate.link.describe()}.")
        notes.extend(candidate.link.notes)
    warnings = (f"VM memory then crosses {network} unencrypted: {_READABLE} Do this only if {network} is a "
                "network only the cluster nodes are on (no guests, not routed to the LAN).",)
    return Plan(ID, (FileEdit(DATACENTER_CFG, before, after, why),), warnings, tuple(notes))
