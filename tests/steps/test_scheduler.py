"""The scheduler step on the demo profiles and on real queue/scheduler samples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import scheduler
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, StepResult
from ssdwizard.system import ProfileSystem

SAMPLES = FIXTURES / "scheduler"
LOOPS = FIXTURES / "steps" / "trim"
LSBLK = ["lsblk", "--json", "--bytes", "--output-all"]
PVE_SDA = ("/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/queue/scheduler")


def run(profile, chosen=None):
    return scheduler.probe(ProbeContext(ProfileSystem(profile), chosen_disks=chosen))


def by_name(result):
    return {d["name"]: d for d in result.facts["disks"]}


def pve_with_scheduler(tmp_path, text: str):
    """The pve-ceph-node profile (sda: Samsung 860 EVO, SATA SSD) with sda's queue/scheduler
    replaced by a real sample."""
    import shutil
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    (profile / "root" / PVE_SDA.lstrip("/")).write_text(text)
    return profile


def sda_finding(result):
    return next(f for f in result.findings if f.subject == "sda")


def test_aliases_come_from_the_table():
    assert scheduler.blk_mq_name("deadline") == "mq-deadline"
    assert scheduler.blk_mq_name("noop") == "none"
    assert scheduler.blk_mq_name("kyber") == "kyber"


@pytest.mark.parametrize(("sample", "status", "words"), [
    ("scheduler-06.txt", Status.OK, "right for this SSD"),       # [mq-deadline] kyber bfq none
    ("scheduler-10.txt", Status.OK, "right for this SSD"),       # [mq-deadline] kyber none
    ("scheduler-08.txt", Status.OK, "(also fine); mq-deadline is recommended"),  # [none] ...
    ("scheduler-02.txt", Status.OK, "Legacy single-queue"),      # noop [deadline] cfq
    ("scheduler-04.txt", Status.WARN, "Legacy single-queue"),    # noop anticipatory deadline [cfq]
    ("scheduler-12.txt", Status.WARN, "does not offer it"),      # none (no scheduler registered)
])
def test_real_samples_on_a_sata_ssd(tmp_path, sample, status, words):
    result = run(pve_with_scheduler(tmp_path, (SAMPLES / sample).read_text()))
    finding = sda_finding(result)
    assert finding.status is status and words in finding.message
    sda = by_name(result)["sda"]
    assert sda["recommended"] == "mq-deadline"
    assert sda["available"] == (SAMPLES / sample).read_text().replace("[", "").replace("]", "").split()


def test_legacy_kernel_advice_names_the_blk_mq_successors(tmp_path):
    finding = sda_finding(run(pve_with_scheduler(tmp_path, (SAMPLES / "scheduler-04.txt").read_text())))
    assert "select deadline" in finding.advice and "Linux 5.0" in finding.advice
    assert "mq-deadline" in finding.message and "udev rule" in finding.advice


def test_missing_scheduler_says_modprobe(tmp_path):
    finding = sda_finding(run(pve_with_scheduler(tmp_path, (SAMPLES / "scheduler-12.txt").read_text())))
    assert "modprobe mq-deadline" in finding.advice


def test_wrong_scheduler_on_an_nvme_disk_advises_none_with_a_udev_rule(tmp_path):
    import shutil
    profile = tmp_path / "ws"
    shutil.copytree(PROFILES_DIR / "nvme-workstation", profile, symlinks=True)
    path = profile / "root/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/queue/scheduler"
    path.write_text((SAMPLES / "scheduler-06.txt").read_text())  # [mq-deadline] kyber bfq none
    result = run(profile)
    finding = next(f for f in result.findings if f.subject == "nvme0n1")
    assert finding.status is Status.OK  # mq-deadline is "also fine" on NVMe, but none is advised
    assert "none is recommended" in finding.message
    assert 'KERNEL=="nvme0n1", ATTR{queue/scheduler}="none"' in finding.advice
    assert "lost at reboot" in finding.advice
    assert finding.evidence[-1].excerpt == "[mq-deadline] kyber bfq none"


def test_chosen_hdd_gets_mq_deadline_and_none_is_a_warning(tmp_path):
    import shutil
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    sdd = profile / "root/sys/devices/pci0000:00/0000:00:17.0/ata4/host3/target3:0:0/3:0:0:0/block/sdd/queue/scheduler"
    sdd.write_text((SAMPLES / "scheduler-08.txt").read_text())  # [none] mq-deadline kyber bfq
    result = run(profile, chosen=("sdd",))
    assert by_name(result)["sdd"] == {"name": "sdd", "rotational": True, "scheduler": "none",
                                      "available": ["none", "mq-deadline", "kyber", "bfq"],
                                      "recommended": "mq-deadline"}
    finding = next(f for f in result.findings if f.subject == "sdd")
    assert finding.status is Status.WARN
    assert not any("rotational is 1" in f.message for f in result.findings)  # an HDD may rotate


def test_virtio_disk_with_rotational_1_is_misdetected_and_gets_none():
    result = run(FIXTURES / "profiles" / "dev-vm-sysfs")
    vda = by_name(result)["vda"]
    assert (vda["rotational"], vda["scheduler"], vda["recommended"]) == (True, "mq-deadline", "none")
    rotational = next(f for f in result.findings if "rotational is 1" in f.message)
    assert rotational.status is Status.WARN and "SSD emulation" in rotational.advice
    assert 'ATTR{queue/rotational}="0"' in rotational.advice
    assert ("/sys/block/vda/queue/rotational", "1") in [(e.source, e.excerpt) for e in rotational.evidence]


def test_loop_capture_without_a_table_row_uses_the_kernel_rule(make_profile):
    """The real loop capture (renamed to sdc): no transport, flash (rotational 0) → no row in
    schedulers.toml; the fallback is said out loud."""
    files = {}
    for line in (LOOPS / "sysfs-queue-loops.raw.txt").read_text().splitlines():
        path, _, value = line.partition(": ")
        files[path.replace("/loop0/", "/sdb/").replace("/loop1/", "/sdc/")] = value + "\n"
    profile = make_profile(commands=[{"argv": LSBLK, "stdout": (LOOPS / "lsblk-loops-as-sd.json").read_text()}],
                           files=files)
    result = run(profile, chosen=("sdc",))
    sdc = by_name(result)["sdc"]
    assert (sdc["rotational"], sdc["scheduler"], sdc["recommended"]) == (False, "none", "mq-deadline")
    assert any("has no row" in f.message for f in result.findings)


def test_no_focus_disk_is_a_skip(make_profile):
    result = run(make_profile())
    assert result.status is Status.SKIP and result.facts == {"disks": []}


# ---- the demo profiles ---------------------------------------------------------------------------

def test_pve_ceph_node():
    result = run(PROFILES_DIR / "pve-ceph-node")
    facts = by_name(result)
    assert list(facts) == ["sda", "sdb", "sdc"]
    assert all(d["scheduler"] == d["recommended"] == "mq-deadline" and d["rotational"] is False
               for d in facts.values())
    assert result.status is Status.OK
    assert all(f.evidence and f.evidence[-1].source.endswith("/queue/scheduler") for f in result.findings)


def test_nvme_workstation():
    result = run(PROFILES_DIR / "nvme-workstation")
    facts = by_name(result)
    assert {d["recommended"] for d in facts.values()} == {"none"}
    assert all(d["scheduler"] == "none" for d in facts.values()) and result.status is Status.OK


def test_legacy_ide():
    result = run(PROFILES_DIR / "legacy-ide")
    sda = by_name(result)["sda"]
    assert (sda["scheduler"], sda["recommended"], sda["rotational"]) == ("mq-deadline", "mq-deadline", False)
    assert result.status is Status.OK


# ---- the plan reads what the probe observed, and nothing else -------------------------------------

def test_the_probe_observes_what_the_plan_needs(tmp_path):
    result = run(pve_with_scheduler(tmp_path, (SAMPLES / "scheduler-08.txt").read_text()))  # [none] mq-deadline ...
    assert isinstance(result.observed, scheduler.Observed) and result.observed.rules_text is None
    sda = result.observed.disks[0]
    assert sda == scheduler.ObservedDisk("sda", False, "none", ("none", "mq-deadline", "kyber", "bfq"), "mq-deadline")
    # The facts a report shows are the same rows, in the report's shape.
    assert result.facts["disks"][0] == {"name": "sda", "rotational": False, "scheduler": "none",
                                        "available": ["none", "mq-deadline", "kyber", "bfq"],
                                        "recommended": "mq-deadline"}


def test_the_plan_works_from_observed_alone(tmp_path):
    result = run(pve_with_scheduler(tmp_path, (SAMPLES / "scheduler-08.txt").read_text()))
    planned = scheduler.plan(result, {})
    assert planned is not None
    write, rules = planned.changes
    assert (write.path, write.old, write.new) == ("/sys/block/sda/queue/scheduler", "none", "mq-deadline")
    assert rules.path == scheduler.UDEV_RULES and rules.before == ""
    assert 'KERNEL=="sd[a-z]*", ATTR{queue/rotational}=="0", ATTR{queue/scheduler}="mq-deadline"' in rules.after
    assert scheduler.plan(replace(result, facts={}), {}) == planned
    lying = {"disks": [{"name": "sda", "rotational": True, "scheduler": "mq-deadline",
                        "available": ["mq-deadline"], "recommended": "mq-deadline"}]}
    assert scheduler.plan(replace(result, facts=lying), {}) == planned


def test_nothing_observed_plans_nothing(make_profile):
    skipped = run(make_profile())
    assert skipped.status is Status.SKIP and skipped.observed is None
    assert scheduler.plan(skipped, {}) is None
    assert scheduler.plan(replace(run(PROFILES_DIR / "pve-ceph-node"), observed=None), {}) is None


def test_another_steps_observed_is_refused():
    result = replace(run(PROFILES_DIR / "pve-ceph-node"), observed={"udev_rules": None})
    with pytest.raises(TypeError, match="scheduler.Observed"):
        scheduler.plan(result, {})


def observed_result(disks, rules_text=None):
    return StepResult(scheduler.ID, scheduler.TITLE, Status.WARN, "",
                      observed=scheduler.Observed(tuple(disks), rules_text))


NVME = scheduler.ObservedDisk("nvme0n1", False, "mq-deadline", ("mq-deadline", "kyber", "bfq", "none"), "none")


def test_plan_from_a_hand_built_observed():
    planned = scheduler.plan(observed_result([NVME]), {})
    write, rules = planned.changes
    assert (write.path, write.old, write.new) == ("/sys/block/nvme0n1/queue/scheduler", "mq-deadline", "none")
    assert rules.before == "" and 'KERNEL=="nvme[0-9]*n[0-9]*", ATTR{queue/scheduler}="none"' in rules.after
    # The rule is already there and the disk runs its scheduler: nothing to change.
    done = replace(NVME, scheduler="none")
    assert scheduler.plan(observed_result([done], rules.after), {}) is None
    # Right scheduler, but no rule yet and none written before: the rule alone is not forced on.
    assert scheduler.plan(observed_result([done]), {}) is None
    # A rule file that says something else is brought in line even when the scheduler is right.
    (edit,) = scheduler.plan(observed_result([done], "# old\n"), {}).changes
    assert (edit.before, edit.after) == ("# old\n", rules.after)
    # The recommended scheduler is not offered by this kernel: no sysfs write to try.
    missing = replace(NVME, available=("mq-deadline", "kyber"))
    assert scheduler.plan(observed_result([missing]), {}) is None
