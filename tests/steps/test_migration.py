"""The migration step on the Proxmox demo profile, on copies of it with one thing changed, and
on the machines without Proxmox."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.parsers import datacenter
from ssdwizard.runner import run_step
from ssdwizard.steps import STEPS, migration
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Status, Step
from ssdwizard.system import ProfileSystem

PVE = PROFILES_DIR / "pve-ceph-node"
STEP = next(s for s in STEPS if s.id == migration.ID)  # with its Proxmox gate, as the table runs it
IP_ARGV = ["ip", "-json", "addr"]
DATACENTER_FIXTURES = FIXTURES / "datacenter"


def run(profile: Path, choices: dict | None = None):
    return run_step(STEP, ProbeContext(ProfileSystem(profile)), choices)


def finding(result, subject: str):
    return next(f for f in result.findings if f.subject == subject)


@pytest.fixture
def pve_copy(tmp_path):
    """A copy of the demo profile to change one thing in."""
    def make() -> Path:
        target = tmp_path / f"pve{len(list(tmp_path.iterdir()))}"
        shutil.copytree(PVE, target, symlinks=True)
        return target
    return make


def write(profile: Path, path: str, text: str) -> None:
    host = profile / "root" / path.lstrip("/")
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_text(text)


def set_ip_json(profile: Path, interfaces: list) -> None:
    (profile / "commands" / "ip-json-addr.json").write_text(json.dumps(interfaces, separators=(",", ":")) + "\n")


# ---- the demo profile -------------------------------------------------------------------------------

def test_demo_profile_lists_the_ip_command_it_replays():
    system = ProfileSystem(PVE)
    assert system.run(IP_ARGV).ok, "profile.toml needs the ip -json addr command"


def test_demo_facts_are_the_contract_and_the_history_newest_first():
    result = run(PVE)
    facts = result.facts
    assert set(facts) == {"type", "network", "legacy_unsecure", "tasks", "link_gbps", "utilisation", "bwlimit_kib_s"}
    assert (facts["type"], facts["network"], facts["legacy_unsecure"]) == ("insecure", None, True)
    assert facts["tasks"] == [
        {"vmid": 107, "target": "pve3", "status": "error", "speed_mib_s": None, "downtime_ms": None,
         "duration_s": 0, "transferred_bytes": None},
        {"vmid": 105, "target": "pve2", "status": "ok", "speed_mib_s": 457.0, "downtime_ms": 73,
         "duration_s": 18, "transferred_bytes": round(2.5 * 2**30)},
        {"vmid": 123, "target": "pve2", "status": "ok", "speed_mib_s": 64.0, "downtime_ms": 54,
         "duration_s": 21, "transferred_bytes": 1059940218},
    ]
    # the vzdump, aptupdate and vncproxy tasks of the index and the active list are not migrations
    assert len(facts["tasks"]) == 3


def test_demo_median_speed_and_utilisation_of_the_cluster_link():
    result = run(PVE)
    # no migration network: the cluster network 192.168.1.0/24 on vmbr0 → eno1 (10 GbE)
    assert result.facts["link_gbps"] == 10.0
    median = (457.0 + 64.0) / 2  # the failed migration has no speed
    assert result.facts["utilisation"] == pytest.approx(median * 8 * 1.048576 / 1000 / 10, abs=1e-4)
    util = finding(result, "utilisation")
    assert "median 260.5 MiB/s" in util.message and "22 % of the 10 Gbit/s link" in util.message
    assert "ssh" in util.advice and "few hundred MiB/s" in util.advice
    link = finding(result, "link")
    assert "vmbr0 → eno1" in link.message and "192.168.1.0/24" in link.message
    assert "tap101i0" not in link.message  # a guest's tap on the bridge is not the uplink
    assert "22 %" in result.summary


def test_demo_deprecated_key_is_a_warning_with_its_line():
    result = run(PVE)
    legacy = finding(result, "migration_unsecure")
    assert legacy.status is Status.WARN
    assert "deprecated since PVE 4.3" in legacy.message and "type=insecure" in legacy.message
    assert legacy.evidence[0].source == "/etc/pve/datacenter.cfg"
    assert "line 3: migration_unsecure: 1" in legacy.evidence[0].excerpt


def test_demo_insecure_over_the_management_network_is_a_risk():
    result = run(PVE)
    security = finding(result, "security")
    assert security.status is Status.WARN
    assert "192.168.1.0/24" in security.message and "management" in security.message
    assert "unencrypted" in security.message
    assert "type=insecure,network=10.10.10.0/24" in security.advice
    assert result.status is Status.WARN


def test_demo_failed_migration_is_a_finding_with_its_error_line():
    result = run(PVE)
    failed = finding(result, "VM 107 → pve3")
    assert failed.status is Status.WARN
    assert "Can't connect to destination address using public key" in failed.message
    assert "ERROR: migration aborted (duration 00:00:00)" in failed.evidence[0].excerpt
    assert failed.evidence[0].source.startswith("/var/log/pve/tasks/5/UPID:pve1:")
    assert "pvecm updatecerts" in failed.advice


def test_demo_plan_changes_exactly_the_deprecated_line():
    result = run(PVE)
    assert result.plan is not None
    (edit,) = result.plan.changes
    assert edit.path == "/etc/pve/datacenter.cfg"
    removed = [l for l in edit.diff().splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l for l in edit.diff().splitlines() if l.startswith("+") and not l.startswith("+++")]
    assert removed == ["-migration_unsecure: 1"]
    assert added == ["+migration: type=insecure,network=10.10.10.0/24"]
    assert edit.after == "\nkeyboard: en-us\nmigration: type=insecure,network=10.10.10.0/24\n"
    after = datacenter.parse(edit.after)
    assert (after.migration_type, after.migration_network, after.get("migration_unsecure")) == \
        ("insecure", "10.10.10.0/24", None)


def test_demo_plan_warns_that_memory_crosses_unencrypted_and_names_the_bond():
    plan = run(PVE).plan
    assert any("unencrypted" in w and "10.10.10.0/24" in w for w in plan.warnings)
    notes = " ".join(plan.notes)
    assert "bond0" in notes and "20 Gbit/s" in notes and "at most 10 Gbit/s" in notes


def test_plan_is_idempotent_once_applied(pve_copy):
    profile = pve_copy()
    after = run(PVE).plan.changes[0].after
    write(profile, "/etc/pve/datacenter.cfg", after)
    result = run(profile)
    assert result.plan is None
    assert finding(result, "security").status is Status.OK
    assert "migration_unsecure" not in [f.subject for f in result.findings]
    # now migrations go over the bond: its ports summed
    assert result.facts["link_gbps"] == 20.0


def test_choosing_a_network_explicitly(pve_copy):
    result = run(PVE, {migration.CHOICE_NETWORK: "10.10.10.77/24"})
    assert "network=10.10.10.0/24" in result.plan.changes[0].after


@pytest.mark.parametrize("choices", [{}, {migration.CHOICE_NETWORK: "10.10.10.77/24"}])
def test_the_plan_is_made_from_what_the_probe_observed_alone(choices):
    result = run(PVE, choices)
    observed = result.observed
    assert isinstance(observed, migration.Observed)
    assert observed.default_network == "10.10.10.0/24" and observed.legacy_present
    assert all(isinstance(m, migration.ManagementNetwork) for m in observed.management)
    assert all(isinstance(c, migration.NetworkUse) for c in observed.candidates)
    # facts, findings and the old untyped inputs emptied: the same plan
    bare = replace(result, facts={}, findings=(), plan=None)
    assert result.plan is not None and migration.plan(bare, choices) == result.plan
    # nothing observed (a skipped or broken probe): no plan, and the refusal says so
    nothing = replace(result, observed=None)
    assert migration.plan(nothing, choices) is None
    assert migration.refusal(nothing, choices) == "Not a Proxmox VE node."


# ---- changed copies ---------------------------------------------------------------------------------

def test_migration_network_set_to_the_management_network_gets_no_plan(pve_copy):
    profile = pve_copy()
    write(profile, "/etc/pve/datacenter.cfg", "\nkeyboard: en-us\nmigration: type=insecure,network=192.168.1.0/24\n")
    result = run(profile, {migration.CHOICE_NETWORK: "192.168.1.0/24"})
    assert result.plan is None
    reason = migration.refusal(result, {migration.CHOICE_NETWORK: "192.168.1.0/24"})
    assert "management network" in reason
    security = finding(result, "security")
    assert security.status is Status.WARN and "crosses the wire unencrypted" in security.message
    assert "gateway 192.168.1.1" in security.message


def test_a_public_network_gets_no_plan(pve_copy):
    profile = pve_copy()
    interfaces = json.loads((PVE / "commands" / "ip-json-addr.json").read_text())
    bond = next(i for i in interfaces if i["ifname"] == "bond0")
    bond["addr_info"][0].update(local="198.51.100.11", broadcast="198.51.100.255")
    set_ip_json(profile, interfaces)
    write(profile, "/etc/pve/datacenter.cfg", "migration: type=insecure,network=198.51.100.0/24\n")
    result = run(profile)
    assert result.plan is None
    assert finding(result, "security").status is Status.FAIL
    assert "not a private network" in finding(result, "security").message
    assert "not a private network" in migration.refusal(result, {migration.CHOICE_NETWORK: "198.51.100.0/24"})
    # and the dedicated-network default is gone with it
    assert result.observed.default_network is None


def test_no_dedicated_network_no_plan_and_says_what_to_set_up(pve_copy):
    profile = pve_copy()
    interfaces = [i for i in json.loads((PVE / "commands" / "ip-json-addr.json").read_text())
                  if i["ifname"] not in ("bond0", "ens1f0", "ens1f1")]
    set_ip_json(profile, interfaces)
    write(profile, "/etc/pve/datacenter.cfg", "keyboard: en-us\n")
    result = run(profile)
    assert result.plan is None
    security = finding(result, "security")
    assert security.status is Status.OK and "no dedicated private network" in security.message
    assert "first give every node an address on a separate network" in security.advice
    assert result.facts["type"] == "secure" and result.facts["legacy_unsecure"] is False


def test_no_task_logs_leaves_history_empty_but_says_so(pve_copy):
    profile = pve_copy()
    shutil.rmtree(profile / "root" / "var" / "log" / "pve" / "tasks")
    result = run(profile)
    assert result.facts["tasks"] == [] and result.facts["utilisation"] is None
    history = finding(result, "history")
    assert "no migration history" in history.message or "No live migration" in history.message
    assert "qm migrate" in history.advice
    assert result.facts["link_gbps"] == 10.0


def test_a_task_whose_log_is_gone_still_counts_from_the_index(pve_copy):
    profile = pve_copy()
    (profile / "root" / "var/log/pve/tasks/0/UPID:pve1:0002B7E1:00A51F07:67788210:qmigrate:105:root@pam:").unlink()
    tasks = run(profile).facts["tasks"]
    assert tasks[1] == {"vmid": 105, "target": None, "status": "ok", "speed_mib_s": None, "downtime_ms": None,
                        "duration_s": None, "transferred_bytes": None}
    assert run(profile).facts["utilisation"] == pytest.approx(64 * 8 * 1.048576 / 1000 / 10, abs=1e-4)


def test_a_running_migration_is_not_history_yet(pve_copy):
    profile = pve_copy()
    upid = "UPID:pve1:000D2F10:01E0F3A0:67FE4A2C:qmigrate:108:root@pam:"
    with open(profile / "root/var/log/pve/tasks/active", "a") as active:
        active.write(f"{upid} 0\n")
    write(profile, f"/var/log/pve/tasks/C/{upid}",
          "2025-04-15 12:00:12 starting migration of VM 108 to node 'pve2' (192.168.1.12)\n")
    assert [t["vmid"] for t in run(profile).facts["tasks"]] == [107, 105, 123]


def test_bond_speed_is_the_sum_of_its_slaves(pve_copy):
    profile = pve_copy()
    write(profile, "/etc/pve/datacenter.cfg", "migration: type=insecure,network=10.10.10.0/24\n")
    write(profile, "/sys/class/net/ens1f1/speed", "25000\n")
    result = run(profile)
    assert result.facts["link_gbps"] == 35.0
    assert "bond0 [802.3ad: ens1f0 + ens1f1]" in finding(result, "link").message


def test_active_backup_bond_counts_one_port_and_an_unknown_port_makes_the_speed_unknown(pve_copy):
    profile = pve_copy()
    write(profile, "/etc/pve/datacenter.cfg", "migration: type=insecure,network=10.10.10.0/24\n")
    write(profile, "/sys/class/net/bond0/bonding/mode", "active-backup 1\n")
    assert run(profile).facts["link_gbps"] == 10.0
    write(profile, "/sys/class/net/ens1f1/speed", "-1\n")
    result = run(profile)
    assert result.facts["link_gbps"] is None and result.facts["utilisation"] is None
    assert "speed unknown" in finding(result, "link").message


def test_cluster_address_from_etc_hosts_without_corosync(pve_copy):
    profile = pve_copy()
    (profile / "root" / "etc/pve/corosync.conf").unlink()
    result = run(profile)
    assert "192.168.1.0/24" in finding(result, "link").message
    assert any(f.subject == "cluster" and "not in a cluster" in f.message for f in result.findings)


def test_without_ip_command_the_interfaces_file_is_used(pve_copy):
    profile = pve_copy()
    toml = (profile / "profile.toml").read_text()
    (profile / "profile.toml").write_text(toml.replace('argv = ["ip", "-json", "addr"]', 'argv = ["ip", "-V"]'))
    result = run(profile)
    assert result.facts["link_gbps"] == 10.0
    assert result.plan is not None and "network=10.10.10.0/24" in result.plan.changes[0].after


def test_both_keys_set_says_the_old_one_is_ignored(pve_copy):
    profile = pve_copy()
    write(profile, "/etc/pve/datacenter.cfg", "migration_unsecure: 1\nmigration: type=secure\n")
    result = run(profile)
    assert result.facts["type"] == "secure"
    assert "ignores the old key" in finding(result, "migration_unsecure").message
    edit = result.plan.changes[0]
    assert edit.after == "migration: type=insecure,network=10.10.10.0/24\n"


# ---- a migration line Proxmox rejects (issue 13) --------------------------------------------------

def _with_datacenter_fixture(pve_copy, name: str) -> tuple[Path, str]:
    profile = pve_copy()
    text = (DATACENTER_FIXTURES / name).read_bytes().decode("utf-8")
    write(profile, "/etc/pve/datacenter.cfg", text)
    return profile, text


@pytest.mark.parametrize(
    "name,number,meant",
    [
        ("datacenter-cfg-04.txt", 2, "`migration: type=insecure,network=192.168.155.0/24`"),
        ("handmade-rejected-remark.txt", 2, "`migration: type=insecure,network=172.16.1.0/24`"),
        ("handmade-rejected-no-type.txt", 2, "a type is required"),
    ],
)
def test_rejected_migration_line_is_reported_and_the_defaults_are_the_facts(pve_copy, name, number, meant):
    profile, text = _with_datacenter_fixture(pve_copy, name)
    bad_line = text.splitlines()[number - 1]
    result = run(profile)
    rejected = finding(result, "datacenter.cfg")
    assert rejected.status is Status.WARN
    assert rejected.evidence == (Evidence(f"/etc/pve/datacenter.cfg:{number}", bad_line),)
    assert "pve-cluster ignores this migration line" in rejected.message
    assert "secure" in rejected.message and "over the cluster network" in rejected.message
    assert "Fix the line" in rejected.advice and meant in rejected.advice
    # the facts are what Proxmox does, not what the line says
    assert (result.facts["type"], result.facts["network"], result.facts["legacy_unsecure"]) == \
        ("secure", None, False)
    link = finding(result, "link")
    assert "secure (Proxmox's default), over 192.168.1.0/24 (the cluster network" in link.message
    assert link.status is Status.OK  # not "no address in 172.16.1.0/24 / 192.168.155.0/24"
    assert "Migrations are secure (ssh)" in finding(result, "security").message


def test_rejected_line_is_replaced_by_a_correct_one_when_the_step_plans_anyway(pve_copy):
    profile, before = _with_datacenter_fixture(pve_copy, "datacenter-cfg-04.txt")
    result = run(profile)
    (edit,) = result.plan.changes
    assert edit.before == before
    assert edit.after == "keyboard: en-us\nmigration: type=insecure,network=10.10.10.0/24\n"
    after = datacenter.parse(edit.after)
    assert after.migration.rejected is None and after.migration_network == "10.10.10.0/24"


def test_the_plan_is_not_built_on_the_rejected_network(pve_copy):
    # A second private network, slower than the bond, is the one the rejected line names: read
    # leniently, the plan would prefer it as "the configured network". Proxmox ignores the
    # line, so nothing is configured and the plan takes the fastest dedicated network.
    profile = pve_copy()
    interfaces = json.loads((PVE / "commands" / "ip-json-addr.json").read_text())
    extra = json.loads(json.dumps(next(i for i in interfaces if i["ifname"] == "bond0")))
    extra.update(ifname="ens2", ifindex=99)
    extra["addr_info"] = [dict(extra["addr_info"][0], local="10.20.20.11", broadcast="10.20.20.255",
                               label="ens2")]
    set_ip_json(profile, interfaces + [extra])
    write(profile, "/etc/pve/datacenter.cfg", "keyboard: en-us\nmigration: type=insecure, network=10.20.20.0/24\n")
    result = run(profile)
    assert {c.network for c in result.observed.candidates} == {"10.10.10.0/24", "10.20.20.0/24"}
    assert result.observed.default_network == "10.10.10.0/24"
    assert result.plan.changes[0].after == "keyboard: en-us\nmigration: type=insecure,network=10.10.10.0/24\n"
    assert result.facts["network"] is None


def test_rejected_line_without_a_dedicated_network_gets_no_plan(pve_copy):
    profile, _ = _with_datacenter_fixture(pve_copy, "handmade-rejected-remark.txt")
    interfaces = [i for i in json.loads((PVE / "commands" / "ip-json-addr.json").read_text())
                  if i["ifname"] not in ("bond0", "ens1f0", "ens1f1")]
    set_ip_json(profile, interfaces)
    result = run(profile)
    assert result.plan is None
    assert "no dedicated private network" in migration.refusal(result, {})
    assert finding(result, "datacenter.cfg").status is Status.WARN
    assert (result.facts["type"], result.facts["network"]) == ("secure", None)


def test_rejected_line_leaves_the_deprecated_key_in_charge(pve_copy):
    profile = pve_copy()
    write(profile, "/etc/pve/datacenter.cfg",
          "\nkeyboard: en-us\nmigration_unsecure: 1\nmigration: type=secure, network=10.10.10.0/24\n")
    result = run(profile)
    assert (result.facts["type"], result.facts["network"], result.facts["legacy_unsecure"]) == \
        ("insecure", None, True)
    rejected = finding(result, "datacenter.cfg")
    assert "insecure (from the deprecated migration_unsecure" in rejected.message
    assert rejected.evidence[0].source == "/etc/pve/datacenter.cfg:4"
    assert "Proxmox still reads it" in finding(result, "migration_unsecure").message
    assert finding(result, "security").status is Status.WARN  # insecure over the management network
    assert result.plan.changes[0].after == "\nkeyboard: en-us\nmigration: type=insecure,network=10.10.10.0/24\n"


# ---- machines without Proxmox -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nvme-workstation", "legacy-ide"])
def test_machines_without_proxmox_skip(name):
    result = run(PROFILES_DIR / name)
    assert result.status is Status.SKIP
    assert "Not a Proxmox VE node" in result.summary
    assert result.plan is None and result.facts["tasks"] == []
    assert result.observed is None


# ---- bwlimit ------------------------------------------------------------------------------------

def with_bwlimit(pve_copy, line: str) -> Path:
    # The demo's datacenter.cfg with the bwlimit line of the real datacenter-cfg-06 (or a
    # variant of it): migrations here run over the 10 GbE cluster link at a median 260.5 MiB/s.
    profile = pve_copy()
    cfg = profile / "root" / "etc" / "pve" / "datacenter.cfg"
    cfg.write_text(cfg.read_text() + line + "\n")
    return profile


def test_no_bwlimit_line_is_no_finding_and_a_null_fact():
    result = run(PVE)
    assert result.facts["bwlimit_kib_s"] is None
    assert not [f for f in result.findings if f.subject == "bwlimit"]


def test_the_real_bwlimit_is_set_against_the_link(pve_copy):
    result = run(with_bwlimit(pve_copy, "bwlimit: migration=500000"))
    assert result.facts["bwlimit_kib_s"] == 500000.0
    limit = finding(result, "bwlimit")
    assert limit.status is Status.OK  # the past migrations stayed well below it
    assert "caps migrations at 500000 KiB/s = 4.10 Gbit/s, 41 % of the 10 Gbit/s migration link" in limit.message
    assert limit.evidence[0].source == "/etc/pve/datacenter.cfg:4"
    assert limit.evidence[0].excerpt == "bwlimit: migration=500000"
    assert "storage.cfg" in limit.advice


def test_a_bwlimit_the_migrations_run_at_is_a_warning(pve_copy):
    # 250000 KiB/s = 2.05 Gbit/s; the migrations' median 260.5 MiB/s = 2.19 Gbit/s is at it.
    result = run(with_bwlimit(pve_copy, "bwlimit: default=250000"))
    limit = finding(result, "bwlimit")
    assert limit.status is Status.WARN
    assert "20 % of the 10 Gbit/s" in limit.message and "the limit, not the link" in limit.message
    assert "bwlimit: migration=1098632" in limit.advice  # 90 % of 10 Gbit/s in KiB/s


@pytest.mark.parametrize("line, expected", [
    ("bwlimit: 500000", "no key"),
    ("bwlimit: migration=0", None),
])
def test_a_bwlimit_proxmox_drops_or_zero_limits_nothing(pve_copy, line, expected):
    result = run(with_bwlimit(pve_copy, line))
    limit = finding(result, "bwlimit")
    assert result.facts["bwlimit_kib_s"] is None
    if expected:
        assert limit.status is Status.WARN and expected in limit.message and "dropped" in limit.message
    else:
        assert limit.status is Status.OK and "no limit" in limit.message
