"""The trim step on the demo profiles, real loop-device captures and real lsblk discard trees."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.parsers.lsblk import parse_lsblk_json
from ssdwizard.parsers.systemctl import UnitFileState
from ssdwizard.steps import trim
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, StepResult
from ssdwizard.system import ProfileSystem

STEPS = FIXTURES / "steps" / "trim"
SYSTEMCTL = FIXTURES / "systemctl"
LSBLK = ["lsblk", "--json", "--bytes", "--output-all"]


def run(profile, chosen=None):
    return trim.probe(ProbeContext(ProfileSystem(profile), chosen_disks=chosen))


def by_name(result):
    return {d["name"]: d for d in result.facts["disks"]}


def timer_command(state: str) -> dict:
    """`systemctl is-enabled fstrim.timer` as captured in tests/fixtures/systemctl."""
    return {"argv": list(trim.FSTRIM_TIMER_ARGV),
            "stdout": (SYSTEMCTL / f"{state}.stdout").read_text(),
            "stderr": (SYSTEMCTL / f"{state}.stderr").read_text(),
            "exit": int((SYSTEMCTL / f"{state}.exit").read_text())}


def sysfs_from_capture() -> dict[str, str]:
    """The loop devices' queue files, renamed like lsblk-loops-as-sd.json (loop0 → sdb, loop1 → sdc)."""
    files = {}
    for line in (STEPS / "sysfs-queue-loops.raw.txt").read_text().splitlines():
        path, _, value = line.partition(": ")
        path = path.replace("/loop0/", "/sdb/").replace("/loop1/", "/sdc/")
        files[path] = value + "\n"
    return files


# ---- the stack walker on real discard trees --------------------------------------------------

def test_luks_opened_without_discards_stops_discard_at_the_crypt_layer():
    (sdb,) = parse_lsblk_json((STEPS / "lsblk-discard-luks-lvm-before.json").read_text())
    result = trim.discard_passthrough(sdb)
    assert result.reaches is False
    assert (result.blocked_at.name, result.blocked_at.type) == ("debian_crypt", "crypt")
    assert result.chain_text == "sdb → sdb3 → debian_crypt"
    assert trim.layer_word(result.blocked_at) == "dm-crypt"


def test_luks_with_allow_discards_passes_discard_down():
    (sdb,) = parse_lsblk_json((STEPS / "lsblk-discard-luks-lvm-after.json").read_text())
    assert trim.discard_passthrough(sdb).reaches is True


def test_proxmox_lvm_thin_stack_passes_discard():
    devices = parse_lsblk_json((PROFILES_DIR / "pve-ceph-node" / "commands" / "lsblk.json").read_text())
    sda = next(d for d in devices if d.name == "sda")
    assert len(sda.walk()) > 10  # partitions, pve-root/swap, the thin pool and a VM disk
    assert trim.discard_passthrough(sda).reaches is True


def test_a_disk_without_discard_blocks_at_itself():
    devices = parse_lsblk_json((STEPS / "lsblk-loops.raw.json").read_text())
    nodiscard = next(d for d in devices if d.name == "loop1")
    result = trim.discard_passthrough(nodiscard)
    assert result.reaches is False and result.blocked_at is nodiscard


def test_the_adapted_capture_differs_from_the_raw_one_only_in_the_renamed_keys():
    raw = json.loads((STEPS / "lsblk-loops.raw.json").read_text())["blockdevices"]
    adapted = json.loads((STEPS / "lsblk-loops-as-sd.json").read_text())["blockdevices"]
    renamed = {"name", "kname", "path", "maj:min", "type"}
    assert len(raw) == len(adapted)
    for before, after in zip(raw, adapted):  # zip(strict=True) needs Python 3.10
        assert {k for k in before if before[k] != after[k]} == renamed
        assert after["type"] == "disk"


# ---- the step on profiles built from real inputs ------------------------------------------------

def test_crypt_layer_without_discards_is_named_with_the_cryptsetup_fix(make_profile):
    profile = make_profile(commands=[
        {"argv": LSBLK, "stdout": (STEPS / "lsblk-discard-luks-lvm-before.json").read_text()},
        timer_command("enabled"),
    ])
    result = run(profile, chosen=("sdb",))
    sdb = by_name(result)["sdb"]
    assert (sdb["trim_supported"], sdb["discard_passthrough"]) == (True, False)
    assert sdb["discard_max_bytes"] == 2 * 1024**3
    stop = next(f for f in result.findings if "Discard stops" in f.message)
    assert stop.status is Status.WARN and "debian_crypt" in stop.message and "dm-crypt" in stop.message
    assert "--allow-discards" in stop.advice and "crypttab" in stop.advice
    assert '"disc-max": "0B"' in stop.evidence[0].excerpt
    assert result.status is Status.WARN and result.facts["fstrim_timer"] == "enabled"


def test_same_disk_after_allow_discards_is_fine(make_profile):
    profile = make_profile(commands=[
        {"argv": LSBLK, "stdout": (STEPS / "lsblk-discard-luks-lvm-after.json").read_text()},
        timer_command("enabled"),
    ])
    result = run(profile, chosen=("sdb",))
    assert by_name(result)["sdb"]["discard_passthrough"] is True
    assert result.status is Status.OK


def test_loop_devices_with_and_without_discard(make_profile):
    profile = make_profile(
        commands=[{"argv": LSBLK, "stdout": (STEPS / "lsblk-loops-as-sd.json").read_text()},
                  timer_command("disabled")],
        files=sysfs_from_capture(),
    )
    result = run(profile, chosen=("sdb", "sdc"))
    facts = by_name(result)
    assert facts["sdb"] == {"name": "sdb", "trim_supported": True, "discard_max_bytes": 4294966784,
                            "drat": None, "rzat": None, "discard_passthrough": True}
    assert facts["sdc"]["trim_supported"] is False and facts["sdc"]["discard_passthrough"] is False
    no_trim = next(f for f in result.findings if f.subject == "sdc" and f.status is Status.WARN)
    assert "No TRIM" in no_trim.message and "garbage collection" in no_trim.message
    # The timer matters because sdb can TRIM: disabled is a warning with the enable command.
    timer = next(f for f in result.findings if f.subject == "fstrim.timer")
    assert timer.status is Status.WARN and "systemctl enable --now fstrim.timer" in timer.advice
    assert result.facts["fstrim_timer"] == "disabled" and result.facts["verified"] is None


def test_without_lsblk_the_sysfs_holders_are_walked(make_profile):
    """No lsblk: /sys/block/NAME/NAMEpN and holders/ (real layout), with the loop capture's
    values for the disk and a dm-crypt holder whose discard_max_bytes is 0."""
    capture = sysfs_from_capture()
    files = {
        "/sys/block/sdb/size": "131072\n",
        "/sys/block/sdb/queue/rotational": "0\n",
        "/sys/block/sdb/queue/discard_max_bytes": capture["/sys/block/sdb/queue/discard_max_bytes"],
        "/sys/block/sdb/queue/discard_granularity": capture["/sys/block/sdb/queue/discard_granularity"],
        "/sys/block/sdb/queue/scheduler": capture["/sys/block/sdb/queue/scheduler"],
        "/sys/block/sdb/sdb1/partition": "1\n",
        "/sys/block/sdb/sdb1/holders/dm-0": "",
        "/sys/block/dm-0/queue/discard_max_bytes": "0\n",
        "/sys/block/dm-0/dm/name": "cryptdata\n",
    }
    result = run(make_profile(commands=[timer_command("enabled")], files=files), chosen=("sdb",))
    sdb = by_name(result)["sdb"]
    assert (sdb["trim_supported"], sdb["discard_passthrough"]) == (True, False)
    stop = next(f for f in result.findings if "Discard stops" in f.message)
    assert "cryptdata" in stop.message and "sdb → sdb1 → cryptdata" in stop.message
    assert stop.evidence[0].source == "/sys/block/dm-0/queue/discard_max_bytes"


def test_virtual_disk_without_discard_points_at_the_hypervisor(make_profile):
    """The development VM's real lsblk, with DISC-MAX/DISC-GRAN set to 0 as a VM disk without
    discard=on shows them (ADAPTED in this test only)."""
    data = json.loads((FIXTURES / "lsblk" / "vm-virtio-zram-output-all.json").read_text())
    vda = next(d for d in data["blockdevices"] if d["name"] == "vda")
    vda["disc-max"] = vda["disc-gran"] = 0
    for child in vda.get("children", []):
        child["disc-max"] = child["disc-gran"] = 0
    profile = make_profile(commands=[{"argv": LSBLK, "stdout": json.dumps(data)}, timer_command("enabled")])
    result = run(profile)
    finding = next(f for f in result.findings if f.subject == "vda")
    assert finding.status is Status.WARN and "hypervisor" in finding.message
    assert "discard=on" in finding.advice
    assert by_name(result)["vda"]["trim_supported"] is False


def test_virtual_disk_with_discard_is_ok():
    result = run(FIXTURES / "profiles" / "dev-vm-lsblk")
    vda = by_name(result)["vda"]
    assert (vda["trim_supported"], vda["discard_max_bytes"], vda["discard_passthrough"]) == (True, 1073741824, True)
    assert result.findings[0].status is Status.OK


@pytest.mark.parametrize(("state", "fact"), [
    ("enabled", "enabled"), ("enabled-runtime", "enabled"), ("disabled", "disabled"), ("masked", "disabled"),
    ("static", "disabled"), ("not-found", "absent"), ("no-systemd", None), ("command-missing", None),
])
def test_fstrim_timer_states(make_profile, state, fact):
    result = run(make_profile(commands=[timer_command(state)]))
    assert trim.fstrim_timer(ProbeContext(ProfileSystem(make_profile(commands=[timer_command(state)])))).fact == fact
    assert result.status is Status.SKIP  # no disks in this profile: nothing to tune


def test_masked_timer_advice_unmasks_it(make_profile):
    profile = make_profile(commands=[{"argv": LSBLK, "stdout": (STEPS / "lsblk-discard-luks-lvm-after.json").read_text()},
                                     timer_command("masked")])
    timer = next(f for f in run(profile, chosen=("sdb",)).findings if f.subject == "fstrim.timer")
    assert timer.status is Status.WARN and "systemctl unmask fstrim.timer" in timer.advice


def test_applied_quirks_from_the_kernel_log_win(tmp_path):
    """The pve-ceph-node profile with its dmesg replaced by a real kernel ≥ 6.10 log of the same
    Samsung 860 EVO on ata1 (which also drops nolpmonati, unlike the table row)."""
    import shutil
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    (profile / "commands" / "dmesg.txt").write_text((STEPS / "dmesg-860evo-applying-quirks.txt").read_text())
    result = run(profile)
    quirk = next(f for f in result.findings if f.subject == "sda" and "libata quirk" in f.message)
    assert "from the kernel log" in quirk.message and "noncqtrim" in quirk.message
    assert quirk.evidence[0].source == "dmesg" and "applying quirks" in quirk.evidence[0].excerpt


# ---- the demo profiles ---------------------------------------------------------------------------

def test_pve_ceph_node():
    result = run(PROFILES_DIR / "pve-ceph-node")
    facts = by_name(result)
    assert list(facts) == ["sda", "sdb", "sdc"]  # sdd is an HDD, not a focus disk
    assert all(d["trim_supported"] and d["discard_passthrough"] for d in facts.values())
    assert (facts["sda"]["drat"], facts["sda"]["rzat"]) == (True, True)
    assert (facts["sdc"]["drat"], facts["sdc"]["rzat"]) == (False, False)
    quirk = next(f for f in result.findings if f.subject == "sda" and "libata quirk" in f.message)
    assert "noncqtrim" in quirk.message and "never the `discard` mount option" in quirk.advice
    rzat = next(f for f in result.findings if f.subject == "sda" and "RZAT" in f.message)
    assert "verdict counts" in rzat.advice
    informational = next(f for f in result.findings if f.subject == "sdc" and "RZAT" in f.message)
    assert "informational" in informational.advice
    assert result.facts["fstrim_timer"] == "disabled" and result.status is Status.WARN


def test_pve_ceph_node_with_the_hdd_chosen():
    result = run(PROFILES_DIR / "pve-ceph-node", chosen=("sdd",))
    sdd = by_name(result)["sdd"]
    assert sdd["trim_supported"] is False and sdd["discard_max_bytes"] == 0
    finding = result.findings[0]
    assert finding.status is Status.OK and "spinning" in finding.message
    # No disk here can TRIM, so a disabled timer is not a problem worth a warning.
    assert result.status is Status.OK


def test_nvme_workstation():
    result = run(PROFILES_DIR / "nvme-workstation")
    facts = by_name(result)
    assert list(facts) == ["nvme0n1", "nvme1n1"]
    assert all(d["trim_supported"] and d["discard_passthrough"] and d["drat"] is None for d in facts.values())
    assert "Deallocate" in next(f for f in result.findings if f.subject == "nvme0n1").message
    assert result.facts["fstrim_timer"] == "enabled" and result.status is Status.OK


def test_legacy_ide():
    result = run(PROFILES_DIR / "legacy-ide")
    sda = by_name(result)["sda"]
    assert (sda["trim_supported"], sda["drat"], sda["rzat"], sda["discard_passthrough"]) == (True, True, False, True)
    assert not any("noncqtrim" in f.message for f in result.findings)  # INTEL*SSD*: zeroaftertrim only
    assert result.facts["fstrim_timer"] == "disabled" and result.status is Status.WARN


# ---- the plan reads what the probe observed, and nothing else -------------------------------------

def test_the_probe_observes_what_the_plan_needs():
    result = run(PROFILES_DIR / "pve-ceph-node")
    assert result.observed == trim.Observed(
        (trim.ObservedDisk("sda", True, True), trim.ObservedDisk("sdb", True, True),
         trim.ObservedDisk("sdc", True, True)),
        UnitFileState.DISABLED)


def test_the_plan_works_from_observed_alone():
    result = run(PROFILES_DIR / "pve-ceph-node")
    planned = trim.plan(result, {})
    assert planned is not None and [c.argv for c in planned.changes] == [trim._ENABLE]
    assert trim.plan(replace(result, facts={}), {}) == planned
    # The facts say something else entirely: the plan does not read them.
    lying = {"disks": [{"name": "sda", "trim_supported": False, "discard_passthrough": False}],
             "fstrim_timer": "enabled"}
    assert trim.plan(replace(result, facts=lying), {}) == planned


def test_nothing_observed_plans_nothing(make_profile):
    skipped = run(make_profile(commands=[timer_command("disabled")]))
    assert skipped.status is Status.SKIP and skipped.observed is None
    assert trim.plan(skipped, {}) is None
    assert trim.plan(replace(run(PROFILES_DIR / "pve-ceph-node"), observed=None), {}) is None


def test_another_steps_observed_is_refused():
    result = replace(run(PROFILES_DIR / "pve-ceph-node"), observed={"timer_state": "disabled"})
    with pytest.raises(TypeError, match="trim.Observed"):
        trim.plan(result, {})


def observed_result(disks, timer_state):
    return StepResult(trim.ID, trim.TITLE, Status.WARN, "", observed=trim.Observed(tuple(disks), timer_state))


@pytest.mark.parametrize(("disks", "state", "argvs"), [
    ([("sdb", True, True)], UnitFileState.DISABLED, [trim._ENABLE]),
    ([("sdb", True, True)], UnitFileState.MASKED, [("systemctl", "unmask", "fstrim.timer"), trim._ENABLE]),
    ([("sdb", True, True)], UnitFileState.ENABLED, None),
    ([("sdb", True, True)], None, None),                          # systemctl's answer was unreadable
    ([("sdb", True, False), ("sdc", False, True)], UnitFileState.DISABLED, None),  # TRIM reaches neither
    ([("sdb", None, True), ("sdc", True, True)], UnitFileState.DISABLED, [trim._ENABLE]),
])
def test_plan_from_a_hand_built_observed(disks, state, argvs):
    planned = trim.plan(observed_result([trim.ObservedDisk(*d) for d in disks], state), {})
    assert (None if planned is None else [c.argv for c in planned.changes]) == argvs
