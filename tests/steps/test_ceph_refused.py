"""The ceph step on a ceph.conf that Ceph's parser refuses: none of the file's values apply, so the
step reports Ceph's defaults (and the RAM they reserve), says why the file is refused, and does not
plan an edit of it.

Each case is the pve-ceph-node demo profile (its [client] sets ``rbd cache size = 67108864``, the
guide's 64 MiB) copied to a tmp dir with one line broken by hand, in the forms of the hand-derived
fixtures in tests/fixtures/cephconf/refused/ (see SOURCES.md there).
"""

from __future__ import annotations

import shutil

import pytest

from ssdwizard.apply.plan import CommandRun, FileEdit
from ssdwizard.data import PROFILES_DIR
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.runner import PLAN_SUBJECT, run_step
from ssdwizard.steps import STEPS, ceph
from ssdwizard.system import ProfileSystem

MIB = 1024 * 1024
STEP = next(s for s in STEPS if s.id == ceph.ID)
DEMO = PROFILES_DIR / "pve-ceph-node"
CONF = "root/etc/pve/ceph.conf"

#: Ceph's defaults for the reported options (rbd.yaml.in, as in ssdwizard/data/ceph_rbd_cache.toml),
#: written out so that a changed table or a value taken from the file shows.
DEFAULTS = {"rbd_cache": True, "rbd_cache_size": 32 * MIB, "rbd_cache_max_dirty": 24 * MIB,
            "rbd_cache_target_dirty": 16 * MIB, "rbd_cache_max_dirty_age": 1.0,
            "rbd_cache_writethrough_until_flush": True}

#: (id, old bytes, new bytes, the line Ceph stops at, words of the reason). Demo lines: 11 is the
#: empty line after [global], 12 [client], 14 ``rbd cache = true``, 15 ``rbd cache size``, 25 the last.
BREAKS = [
    ("no-final-newline", b"public_addr = 10.10.10.13\n", b"public_addr = 10.10.10.13", 25,
     "does not end with a newline"),
    ("invalid-utf8", b"10.10.10.0/24\n\n[client]", b"10.10.10.0/24\n# r\xe9seau\n[client]", 11, "not valid UTF-8"),
    ("indented-header", b"\n[client]\n", b"\n  [client]\n", 12, "header is indented"),
    ("text-after-quote", b"rbd cache size = 67108864\n", b'rbd cache size = "64"M\n', 15,
     "text after the closing quote"),
    ("no-equals", b"rbd cache = true\n", b"rbd cache true\n", 14, "no '='"),
]


def run(profile, choice: str | None = None):
    choices = {} if choice is None else {"ceph.values": choice}
    return run_step(STEP, ProbeContext(ProfileSystem(profile)), choices)


def broken_demo(tmp_path, old: bytes, new: bytes):
    profile = tmp_path / "pve"
    shutil.copytree(DEMO, profile, symlinks=True)
    path = profile / CONF
    data = path.read_bytes()
    assert data.count(old) == 1, old
    path.write_bytes(data.replace(old, new))
    return profile


def finding(result, subject: str):
    return next(f for f in result.findings if f.subject == subject)


@pytest.mark.parametrize("name, old, new, line, words", BREAKS, ids=[b[0] for b in BREAKS])
def test_a_refused_file_gives_the_defaults_and_says_why(tmp_path, name, old, new, line, words):
    result = run(broken_demo(tmp_path, old, new))
    refused = finding(result, "ceph.conf")
    assert refused.status is Status.WARN and result.status is Status.WARN
    assert refused.message.startswith(f"/etc/pve/ceph.conf is refused by Ceph's parser (line {line}: ")
    assert words in refused.message and "so none of its values apply" in refused.message
    assert f"Fix line {line}" in refused.advice
    assert refused.evidence[0].source == "/etc/pve/ceph.conf" and refused.evidence[0].excerpt.startswith(f"{line}: ")
    # The file's 64 MiB does not apply: the defaults do, and the RAM follows them (3 disks on).
    assert result.facts["rbd_cache"] == DEFAULTS
    assert result.facts["ram_reserved_bytes"] == 3 * 32 * MIB
    assert result.facts["config_path"] == "/etc/pve/ceph.conf"
    settings = finding(result, "rbd cache settings")
    assert "rbd_cache_size = 32.0 MiB  (Ceph's default)" in settings.evidence[0].excerpt
    assert "rbd_cache = true  (Ceph's default)" in settings.evidence[0].excerpt
    assert f"Ceph refuses /etc/pve/ceph.conf (/etc/pve/ceph.conf line {line}: " in settings.message
    assert "3 disks with the rbd cache on × 32.0 MiB = up to 96.0 MiB" in finding(result, "pve1").message
    # The dashed line of the demo sets nothing either way; a refused file gets the one finding.
    assert not [f for f in result.findings if f.subject == "rbd_cache_max_dirty"]


def test_the_same_lines_unbroken_give_the_files_values():
    # The control: the demo as it is (Ceph reads it) takes rbd_cache_size from line 15.
    result = run(DEMO)
    assert result.facts["rbd_cache"]["rbd_cache_size"] == 64 * MIB
    assert result.facts["ram_reserved_bytes"] == 3 * 64 * MIB
    assert not [f for f in result.findings if f.subject == "ceph.conf"]


def test_accepted_edge_cases_keep_the_files_values(tmp_path):
    # A quoted value with a comment after it, a line of blanks in a section and a last line that is a
    # comment without a newline: Ceph reads all of them.
    profile = broken_demo(tmp_path, b"rbd cache size = 67108864\n", b'rbd cache size = "67108864"   ; guide\n \t\n')
    path = profile / CONF
    path.write_bytes(path.read_bytes() + b"# end of file")
    result = run(profile)
    assert not [f for f in result.findings if f.subject == "ceph.conf"]
    assert result.facts["rbd_cache"]["rbd_cache_size"] == 64 * MIB
    assert result.facts["ram_reserved_bytes"] == 3 * 64 * MIB


def test_the_plan_turns_the_cache_on_per_disk_but_edits_no_refused_file(tmp_path):
    profile = broken_demo(tmp_path, b"rbd cache = true\n", b"rbd cache true\n")
    plan = run(profile).plan
    assert not [c for c in plan.changes if isinstance(c, FileEdit)]
    assert len([c for c in plan.changes if isinstance(c, CommandRun)]) == 4  # qm set / pvesh set per disk
    # The RAM figures start from the default 32 MiB, not the file's 64 MiB.
    assert plan.warnings[0].startswith("pve1: the rbd caches may take 96.0 MiB → 192.0 MiB")


def test_the_guide_choice_does_not_edit_a_refused_file(tmp_path):
    profile = broken_demo(tmp_path, b"rbd cache = true\n", b"rbd cache true\n")
    plan = run(profile, "guide").plan
    assert not [c for c in plan.changes if isinstance(c, FileEdit)]
    assert plan.warnings[0].startswith("/etc/pve/ceph.conf is not edited: Ceph refuses it (/etc/pve/ceph.conf "
                                       "line 14: no '='")
    assert "rbd_cache_size" in plan.warnings[0]
    # Nothing about the guide's 64 MiB: the sizes stay the defaults.
    assert plan.warnings[1].startswith("pve1: the rbd caches may take 96.0 MiB → 192.0 MiB")


def test_with_only_the_refused_edit_to_plan_the_reason_is_a_finding(tmp_path):
    profile = broken_demo(tmp_path, b"\n[client]\n", b"\n  [client]\n")
    storage = profile / "root/etc/pve/storage.cfg"
    storage.write_text(storage.read_text().replace("rbd: ceph-vm\n\tcontent images\n\tkrbd 0\n",
                                                   "rbd: ceph-vm\n\tcontent images\n\tkrbd 1\n"))
    result = run(profile, "guide")  # no librbd disk left: the ceph.conf edit would be all
    assert result.plan is None
    said = finding(result, PLAN_SUBJECT)
    assert said.status is Status.WARN and "is not edited: Ceph refuses it" in said.message
