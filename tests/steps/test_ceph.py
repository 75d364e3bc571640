"""The ceph step on the pve-ceph-node demo profile, on copies of it changed in a tmp dir, and on
the profiles without Proxmox (skip).

The demo's /etc/pve holds ceph.conf (the corpus `pveceph init` output plus [client] rbd lines,
one of them dashed), storage.cfg (ceph-vm: librbd; ceph-krbd: krbd 1) and four VMs: 100
(pve1, running; efidisk0, scsi0, scsi1 on ceph-vm without cache=, tpmstate0 on ceph-vm), 101
(pve1, running; ide0 on ceph-vm with cache=writeback, virtio0 on local-lvm, a snapshot section),
102 (pve1, stopped; efidisk0 and scsi0 on ceph-vm, scsi1 on ceph-krbd) and 103 (pve2; ide0 on
ceph-vm without cache=).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from ssdwizard.apply.plan import CommandRun, FileEdit
from ssdwizard.data import PROFILES_DIR
from ssdwizard.parsers import cephconf
from ssdwizard.runner import run_step
from ssdwizard.steps import STEPS, ceph
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, Step
from ssdwizard.system import ProfileSystem

MIB = 1024 * 1024
STEP = next(s for s in STEPS if s.id == ceph.ID)  # with its Proxmox gate, as the table runs it
DEMO = PROFILES_DIR / "pve-ceph-node"
CONF = "root/etc/pve/ceph.conf"


def run(profile, choice: str | None = None):
    choices = {} if choice is None else {"ceph.values": choice}
    return run_step(STEP, ProbeContext(ProfileSystem(profile)), choices)


def copy_demo(tmp_path):
    target = tmp_path / "pve"
    shutil.copytree(DEMO, target, symlinks=True)
    return target


def edit(profile, relative: str, old: str, new: str) -> None:
    path = profile / relative
    text = path.read_text()
    assert old in text, (relative, old)
    path.write_text(text.replace(old, new))


def finding(result, subject: str):
    return next(f for f in result.findings if f.subject == subject)


def commands(plan) -> list[CommandRun]:
    return [c for c in plan.changes if isinstance(c, CommandRun)]


def file_edits(plan) -> list[FileEdit]:
    return [c for c in plan.changes if isinstance(c, FileEdit)]


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    lines = [l for l in diff.splitlines() if not l.startswith(("---", "+++"))]
    return [l[1:] for l in lines if l.startswith("-")], [l[1:] for l in lines if l.startswith("+")]


# ---- the demo profile -------------------------------------------------------------------------------

def test_demo_facts_follow_the_contract():
    result = run(DEMO)
    assert result.status is Status.WARN
    assert result.facts == {
        "config_path": "/etc/pve/ceph.conf",
        "rbd_cache": {"rbd_cache": True, "rbd_cache_size": 64 * MIB, "rbd_cache_max_dirty": 24 * MIB,
                      "rbd_cache_target_dirty": 16 * MIB, "rbd_cache_max_dirty_age": 1.0,
                      "rbd_cache_writethrough_until_flush": True},
        "vms": [{"vmid": 100, "rbd_disks": 3, "cache_modes": ["writeback", "none", "none"],
                 "rbd_cache_on": [True, False, False]},
                {"vmid": 101, "rbd_disks": 1, "cache_modes": ["writeback"], "rbd_cache_on": [True]},
                {"vmid": 102, "rbd_disks": 2, "cache_modes": ["writeback", "none"], "rbd_cache_on": [True, False]},
                {"vmid": 103, "rbd_disks": 1, "cache_modes": ["none"], "rbd_cache_on": [False]}],
        "virtual_disks": 7,
        "ram_reserved_bytes": 3 * 64 * MIB,
    }
    json.dumps(result.facts)  # the report serialises them


def test_settings_say_where_each_value_came_from():
    evidence = finding(run(DEMO), "rbd cache settings").evidence[0].excerpt
    assert "rbd_cache = true  (/etc/pve/ceph.conf:14 [client])" in evidence
    assert "rbd_cache_size = 64.0 MiB  (/etc/pve/ceph.conf:15 [client])" in evidence
    assert "rbd_cache_max_dirty = 24.0 MiB  (Ceph's default)" in evidence


def test_ram_per_vm_and_per_node():
    result = run(DEMO)
    pve1 = finding(result, "pve1")
    assert pve1.status is Status.OK
    assert "3 disks with the rbd cache on × 64.0 MiB = up to 192.0 MiB" in pve1.message
    assert "(0.1% of 125.6 GiB RAM)" in pve1.message  # MemTotal 131682620 kB
    per_vm = pve1.evidence[0].excerpt.splitlines()
    assert per_vm[0].startswith("VM 100 (running): 1 of 3 librbd disks with the cache on × 64.0 MiB = 64.0 MiB")
    assert per_vm[1].startswith("VM 101 (running): 1 of 1 librbd disks")
    assert per_vm[2].startswith("VM 102 (stopped): 1 of 2 librbd disks")
    pve2 = finding(result, "pve2")
    assert "0 disks with the rbd cache on" in pve2.message and "VM 103 (state unknown here)" in pve2.evidence[0].excerpt


def test_disks_without_cache_get_no_rbd_cache_whatever_ceph_conf_says():
    found = finding(run(DEMO), "cache mode")
    assert found.status is Status.WARN
    assert "4 of 7 librbd disks" in found.message
    assert "VM 100 scsi0, VM 100 scsi1, VM 102 scsi0, VM 103 ide0" in found.message
    assert "whatever ceph.conf says (rbd_cache = true there)" in found.message
    assert [e.excerpt.split(":")[0] for e in found.evidence] == ["18", "19", "10", "4"]
    assert "cache=writeback" in found.advice


def test_efidisk_tpmstate_krbd_cdrom_and_snapshots_are_told_apart():
    result = run(DEMO)
    assert "VM 100, VM 102" in finding(result, "efidisk0").message
    skipped = finding(result, "not librbd").message
    assert "VM 100 tpmstate0" in skipped and "VM 102 scsi1 (storage ceph-krbd has krbd 1" in skipped
    # 101: the snapshot [test] has ide0 without cache=, the current config cache=writeback: one disk, on.
    assert result.facts["vms"][1] == {"vmid": 101, "rbd_disks": 1, "cache_modes": ["writeback"], "rbd_cache_on": [True]}


def test_the_guides_advice_to_keep_the_defaults():
    found = finding(run(DEMO), "defaults and guide")
    assert "If unsure, keep the defaults and just enable the cache" in found.advice
    assert "rbd_cache_size: 64.0 MiB (guide; default 32.0 MiB, guide 64.0 MiB)" in found.evidence[0].excerpt


def test_dashed_key_in_the_demo_is_a_warning():
    found = finding(run(DEMO), "rbd_cache_max_dirty")
    assert found.status is Status.WARN and "dashes" in found.message
    assert found.evidence[0].excerpt == "16: rbd-cache-max-dirty = 50331648"


def test_no_config_database_is_a_note_not_a_failure():
    found = finding(run(DEMO), "config database")
    assert found.status is Status.OK and "not installed" in found.message


def test_plan_turns_the_cache_on_per_disk_with_undo():
    plan = run(DEMO).plan
    assert not file_edits(plan)  # rbd_cache is already true and "defaults" changes no value
    assert [(c.argv, c.undo) for c in commands(plan)] == [
        (("qm", "set", "100", "--scsi0", "ceph-vm:vm-100-disk-1,cache=writeback,discard=on,iothread=1,size=80G"),
         ("qm", "set", "100", "--scsi0", "ceph-vm:vm-100-disk-1,discard=on,iothread=1,size=80G")),
        (("qm", "set", "100", "--scsi1", "ceph-vm:vm-100-disk-2,cache=writeback,discard=on,iothread=1,size=32G"),
         ("qm", "set", "100", "--scsi1", "ceph-vm:vm-100-disk-2,discard=on,iothread=1,size=32G")),
        (("qm", "set", "102", "--scsi0", "ceph-vm:vm-102-disk-0,cache=writeback,discard=on,size=32G"),
         ("qm", "set", "102", "--scsi0", "ceph-vm:vm-102-disk-0,discard=on,size=32G")),
        # qm manages only this node's VMs: VM 103 lives on pve2.
        (("pvesh", "set", "/nodes/pve2/qemu/103/config", "--ide0", "ceph-vm:vm-103-disk-0,cache=writeback,discard=on,size=32G"),
         ("pvesh", "set", "/nodes/pve2/qemu/103/config", "--ide0", "ceph-vm:vm-103-disk-0,discard=on,size=32G")),
    ]
    assert plan.warnings[0] == ("pve1: the rbd caches may take 192.0 MiB → 384.0 MiB of RAM (0.1% → 0.3% of its "
                                "RAM), outside the VMs' memory settings.")
    assert plan.warnings[1].startswith("pve2: the rbd caches may take 0 Bytes → 64.0 MiB")


def test_notes_name_the_running_vms_and_how_they_pick_the_change_up():
    notes = "\n".join(run(DEMO).plan.notes)
    assert "`qm shutdown 100 && qm start 100`" in notes  # running, cache= changes: pending until a start
    assert "102 && qm start 102" not in notes             # stopped: picks it up at its next start
    assert "a reboot from inside the guest is not enough" in notes.lower()
    assert "VM 103 on pve2" in notes
    guide_notes = "\n".join(run(DEMO, "guide").plan.notes)
    # 101 keeps its cache mode; only the ceph.conf values change for it: a live migration will do.
    assert "qm migrate 101 pve2 --online" in guide_notes
    assert "qm migrate 100" not in guide_notes


# ---- changed copies -----------------------------------------------------------------------------------

def test_rbd_cache_false_plans_a_one_line_edit_of_the_real_ceph_conf(tmp_path):
    profile = copy_demo(tmp_path)
    edit(profile, CONF, "        rbd cache = true\n", "        rbd cache = false\n")
    result = run(profile)
    assert result.facts["rbd_cache"]["rbd_cache"] is False
    assert finding(result, "rbd_cache").status is Status.WARN
    # QEMU's mode still decides: the writeback disks keep their cache.
    assert result.facts["ram_reserved_bytes"] == 3 * 64 * MIB
    (change,) = file_edits(result.plan)
    assert change.path == "/etc/pve/ceph.conf"  # the link target, not /etc/ceph/ceph.conf
    assert change.before == (profile / CONF).read_text()
    assert changed_lines(change.diff()) == (["        rbd cache = false"], ["        rbd cache = true"])


def test_guide_choice_writes_the_guides_values(tmp_path):
    result = run(DEMO, "guide")
    (change,) = file_edits(result.plan)
    assert change.path == "/etc/pve/ceph.conf"
    after = ceph.effective_values(cephconf.parse(change.after), change.path, "client.admin", {})
    assert {name: after[name].value for name in ceph.FACT_OPTIONS} == {
        "rbd_cache": True, "rbd_cache_size": 64 * MIB, "rbd_cache_max_dirty": 48 * MIB,
        "rbd_cache_target_dirty": 32 * MIB, "rbd_cache_max_dirty_age": 2.0,
        "rbd_cache_writethrough_until_flush": True}
    removed, added = changed_lines(change.diff())
    # the dashed line is corrected in place; the spaced keys Ceph reads are left alone
    assert removed == ["        rbd-cache-max-dirty = 50331648"]
    assert added == ["        rbd_cache_max_dirty = 48M", "        rbd_cache_target_dirty = 32M",
                     "        rbd_cache_max_dirty_age = 2"]
    assert "guide" not in [c.why for c in commands(result.plan)]
    assert len(commands(result.plan)) == 4


def test_guide_edits_an_existing_key_in_its_own_spelling(tmp_path):
    profile = copy_demo(tmp_path)
    edit(profile, CONF, "        rbd cache size = 67108864\n", "        rbd cache size = 32M\n")
    (change,) = file_edits(run(profile, "guide").plan)
    removed, added = changed_lines(change.diff())
    assert ("        rbd cache size = 32M", "        rbd cache size = 64M") in zip(removed, added)


def test_a_second_run_after_the_change_plans_nothing(tmp_path):
    profile = copy_demo(tmp_path)
    plan = run(profile, "guide").plan
    for change in plan.changes:
        if isinstance(change, FileEdit):
            (profile / "root" / change.path.lstrip("/")).write_text(change.after)
        else:  # qm set VMID --KEY VALUE | pvesh set /nodes/NODE/qemu/VMID/config --KEY VALUE
            if change.argv[0] == "qm":
                node, vmid = "pve1", change.argv[2]
            else:
                node, vmid = change.argv[2].split("/")[2], change.argv[2].split("/")[4]
            key, value = change.argv[-2].lstrip("-"), change.argv[-1]
            edit(profile, f"root/etc/pve/nodes/{node}/qemu-server/{vmid}.conf", f"{key}: {change.undo[-1]}\n",
                 f"{key}: {value}\n")
    again = run(profile, "guide")
    assert again.plan is None
    assert again.facts["ram_reserved_bytes"] == 7 * 64 * MIB
    assert not [f for f in again.findings if f.subject == "rbd_cache_max_dirty"]  # the dashed line is fixed


def test_a_correctly_spelled_key_gives_no_dashes_warning(tmp_path):
    profile = copy_demo(tmp_path)
    edit(profile, CONF, "rbd-cache-max-dirty = 50331648", "rbd cache max dirty = 50331648")
    result = run(profile)
    assert not [f for f in result.findings if "dashes" in f.message]
    assert result.facts["rbd_cache"]["rbd_cache_max_dirty"] == 50331648


def test_krbd_disks_are_not_counted(tmp_path):
    profile = copy_demo(tmp_path)
    edit(profile, "root/etc/pve/storage.cfg", "rbd: ceph-vm\n\tcontent images\n\tkrbd 0\n",
         "rbd: ceph-vm\n\tcontent images\n\tkrbd 1\n")
    result = run(profile)
    assert result.facts["virtual_disks"] == 0 and result.facts["ram_reserved_bytes"] == 0
    assert result.plan is None
    assert "no VM disk uses librbd" in result.summary


def test_large_reservation_against_the_nodes_ram_warns(tmp_path):
    profile = copy_demo(tmp_path)
    meminfo = profile / "root/proc/meminfo"
    meminfo.write_text(meminfo.read_text().replace("MemTotal:       131682620 kB", "MemTotal:         2097152 kB"))
    found = finding(run(profile), "pve1")
    assert found.status is Status.WARN  # 192 MiB of 2 GiB = 9.4 % > 5 %
    assert "9.4% of 2.0 GiB RAM" in found.message and "5%" in found.advice


def test_config_database_value_applies_where_the_file_is_silent(tmp_path):
    profile = copy_demo(tmp_path)
    # Hand-made reply in the shape of `ceph config dump --format json` (Reef: section, name, value,
    # level, can_update_at_runtime, mask); values chosen for the test.
    dump = [{"section": "client", "name": "rbd_cache_target_dirty", "value": "8388608", "level": "advanced",
             "can_update_at_runtime": True, "mask": ""},
            {"section": "client", "name": "rbd_cache_size", "value": "134217728", "level": "advanced",
             "can_update_at_runtime": True, "mask": ""}]
    toml = profile / "profile.toml"
    toml.write_text(toml.read_text() + '\n[[command]]\nargv = ["ceph", "config", "dump", "--format", "json"]\n'
                    f"stdout_text = {json.dumps(json.dumps(dump))}\nexit = 0\n")
    result = run(profile)
    assert result.facts["rbd_cache"]["rbd_cache_target_dirty"] == 8 * MIB        # from the database
    assert result.facts["rbd_cache"]["rbd_cache_size"] == 64 * MIB               # the file wins
    assert "ceph config dump: client rbd_cache_target_dirty = 8388608" in \
        finding(result, "rbd cache settings").evidence[0].excerpt
    assert not [f for f in result.findings if f.subject == "config database"]


def test_not_a_proxmox_node_is_skipped(tmp_path):
    profile = copy_demo(tmp_path)
    shutil.rmtree(profile / "root/etc/pve")
    result = run(profile)
    assert result.status is Status.SKIP and "Not a Proxmox VE node" in result.summary
    assert result.plan is None


def test_proxmox_without_ceph_is_skipped(tmp_path):
    profile = copy_demo(tmp_path)
    (profile / CONF).unlink()
    storage = profile / "root/etc/pve/storage.cfg"
    storage.write_text(storage.read_text().split("rbd: ceph-vm")[0])
    result = run(profile)
    assert result.status is Status.SKIP and "No Ceph here" in result.summary


@pytest.mark.parametrize("name", ["nvme-workstation", "legacy-ide"])
def test_machines_without_proxmox_skip(name):
    result = run(PROFILES_DIR / name)
    assert result.status is Status.SKIP and "/etc/pve" in result.summary
    assert result.facts["vms"] == [] and result.plan is None


# ---- pieces -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("drive", "expected"), [
    ("ceph-vm:vm-100-disk-1,discard=on,size=80G", "ceph-vm:vm-100-disk-1,cache=writeback,discard=on,size=80G"),
    ("ceph-vm:vm-100-disk-1,aio=native,backup=0,size=8G", "ceph-vm:vm-100-disk-1,aio=native,backup=0,cache=writeback,size=8G"),
    ("ceph-vm:vm-100-disk-1,cache=none,size=8G", "ceph-vm:vm-100-disk-1,cache=writeback,size=8G"),
    ("ceph-vm:vm-100-disk-1", "ceph-vm:vm-100-disk-1,cache=writeback"),
])
def test_with_cache_puts_the_option_where_proxmox_prints_it(drive, expected):
    assert ceph.with_cache(drive) == expected


@pytest.mark.parametrize("choice", ["defaults", "guide"])
def test_the_plan_is_made_from_what_the_probe_observed_alone(choice):
    result = run(DEMO, choice)
    observed = result.observed
    assert isinstance(observed, ceph.Observed)
    assert observed.disks and all(isinstance(d, ceph.RbdDisk) for d in observed.disks)
    assert (observed.local_node, observed.config_path, observed.running) == ("pve1", "/etc/pve/ceph.conf", (100, 101))
    # facts, findings and the old untyped inputs emptied: the same plan
    bare = replace(result, facts={}, findings=(), plan=None)
    assert result.plan is not None and ceph.plan(bare, {"ceph.values": choice}) == result.plan
    # nothing observed (a skipped or broken probe): no plan
    assert ceph.plan(replace(result, observed=None), {"ceph.values": choice}) is None


def test_a_skipped_step_observed_nothing():
    assert run(PROFILES_DIR / "nvme-workstation").observed is None


def test_unknown_choice_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        ceph.plan(run(DEMO), {"ceph.values": "fast"})


def test_the_picture_counts_the_disks_the_step_counts_also_for_an_unknown_cache_mode(tmp_path):
    # cache=foo is no QEMU mode the table knows: the step counts its rbd cache as on (RAM may be
    # taken), and the ceph picture used to keep its own list of modes and count it as off.
    from ssdwizard.tui.widgets.pictures import ceph_picture

    profile = copy_demo(tmp_path)
    edit(profile, "root/etc/pve/nodes/pve2/qemu-server/103.conf", "ide0: ceph-vm:vm-103-disk-0,discard=on,size=32G\n",
         "ide0: ceph-vm:vm-103-disk-0,cache=foo,discard=on,size=32G\n")
    facts = run(profile).facts
    vm103 = facts["vms"][3]
    assert vm103["cache_modes"] == ["foo"] and vm103["rbd_cache_on"] == [True]
    assert facts["ram_reserved_bytes"] == 4 * 64 * MIB
    [_, bars] = ceph_picture(facts)
    pictured = {label: value for label, value, _ in bars.rows}
    assert pictured == {"VM 100": 64 * MIB, "VM 101": 64 * MIB, "VM 102": 64 * MIB, "VM 103": 64 * MIB}
    assert sum(pictured.values()) == facts["ram_reserved_bytes"]
