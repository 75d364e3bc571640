"""lvs reports, lvm.conf discard settings and Proxmox drive options, on real samples."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError, lvm, pveconf

LVM = FIXTURES / "lvm"
PVE = FIXTURES / "pve"


def read(name: str) -> str:
    return (LVM / name).read_bytes().decode("utf-8")


def by_name(volumes: tuple[lvm.LogicalVolume, ...]) -> dict[str, lvm.LogicalVolume]:
    return {volume.name: volume for volume in volumes}


# ------------------------------------------------------------------ lvs --reportformat json


def test_argv_asks_for_every_field_in_bytes():
    assert lvm.LVS_ARGV[:7] == ("lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-a")
    assert lvm.LVS_ARGV[7:] == ("-o", ",".join(lvm.LVS_FIELDS))
    assert {"pool_lv", "data_percent", "metadata_percent", "discards", "segtype"} <= set(lvm.LVS_FIELDS)


def test_local_capture_pools_thin_volumes_and_their_discards():
    volumes = lvm.parse_lvs_json(read("lvs-json-local-restored-pve-vg.json"))
    assert [v.name for v in volumes] == [
        "data", "data_tdata", "data_tmeta", "fast", "fast_tdata", "fast_tmeta",
        "lvol0_pmspare", "root", "vm-100-disk-0", "vm-101-disk-0",
    ]  # fmt: skip
    lvs = by_name(volumes)
    data = lvs["data"]
    assert (data.vg, data.attr, data.segtype) == ("pve", "twi-XXtz--", "thin-pool")
    assert data.is_thin_pool and not data.is_thin_volume and not data.hidden
    assert (data.size_bytes, data.metadata_size_bytes) == (83886080, 4194304)
    assert data.discards == "passdown" and lvs["fast"].discards == "nopassdown"
    assert data.data_percent is None and data.metadata_percent is None  # inactive: lvs prints ""
    assert data.kernel_discards is None and data.is_active is None  # "X": no device-mapper here
    disk = lvs["vm-100-disk-0"]
    assert disk.is_thin_volume and disk.pool == "data" and disk.size_bytes == 268435456
    assert disk.discards == "passdown"  # a thin LV reports its pool's mode
    assert lvs["vm-101-disk-0"].pool == "fast" and lvs["vm-101-disk-0"].discards == "nopassdown"
    tmeta = lvs["data_tmeta"]
    assert tmeta.hidden and tmeta.volume_type == "e" and tmeta.segtype == "linear"
    assert not tmeta.is_thin_pool and not tmeta.is_thin_volume
    assert lvs["root"].pool is None and lvs["root"].discards is None


def test_fullreport_without_vg_name_or_segtype_uses_full_name_and_attr():
    volumes = lvm.parse_lvs_json(read("fullreport-json-issue105-thin-pool.json"))
    assert [(v.vg, v.name, v.hidden) for v in volumes] == [
        ("testvg", "testpool", False),
        ("testvg", "test_thin", False),
        ("testvg", "lvol0_pmspare", True),
        ("testvg", "testpool_tmeta", True),
        ("testvg", "testpool_tdata", True),
    ]
    pool, thin = volumes[0], volumes[1]
    assert pool.segtype is None and pool.is_thin_pool  # from lv_attr "twi-aot---" alone
    assert (pool.data_percent, pool.metadata_percent) == (0.0, 10.94)
    assert pool.kernel_discards == "passdown" and pool.discards is None
    assert pool.is_active is True and volumes[2].is_active is False
    assert thin.is_thin_volume and thin.pool == "testpool" and thin.size_bytes == 1073741824
    assert thin.metadata_percent is None and thin.metadata_size_bytes is None


def test_no_such_vg_is_an_empty_report():
    assert lvm.parse_lvs_json(read("lvs-json-local-no-such-vg.json")) == ()


def test_one_lv_per_name_when_lvs_prints_a_row_per_segment():
    # lvs with a seg field prints an LV once per segment (seen with this machine's lvm 2.03.16:
    # "plain" had two segments). The rows below are that capture's, inline.
    text = (
        '{"report": [{"lv": [\n'
        '{"vg_name":"vgtest", "lv_name":"other", "lv_attr":"-wi-XX----", "lv_size":"8388608", "segtype":"linear"},\n'
        '{"vg_name":"vgtest", "lv_name":"plain", "lv_attr":"-wi-XX----", "lv_size":"50331648", "segtype":"linear"},\n'
        '{"vg_name":"vgtest", "lv_name":"plain", "lv_attr":"-wi-XX----", "lv_size":"50331648", "segtype":"linear"}\n'
        "]}]}"
    )
    volumes = lvm.parse_lvs_json(text)
    assert [(v.name, v.size_bytes) for v in volumes] == [("other", 8388608), ("plain", 50331648)]


def test_native_json_numbers_and_null_are_read_too():
    text = json.dumps({"report": [{"lv": [{"lv_name": "data", "lv_size": 1024, "data_percent": 5, "pool_lv": None}]}]})
    (volume,) = lvm.parse_lvs_json(text)
    assert (volume.size_bytes, volume.data_percent, volume.pool, volume.vg) == (1024, 5.0, None, None)


def test_human_sizes_in_json_are_not_bytes():
    # lvmreport(7)'s own JSON example, run without --units b.
    text = '{"report": [{"lv": [{"lv_name":"lvol1", "lv_size":"4.00m"}, {"lv_name":"lvol0", "lv_size":"4.00m"}]}]}'
    assert [(v.name, v.size_bytes) for v in lvm.parse_lvs_json(text)] == [("lvol1", None), ("lvol0", None)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not JSON"),
        ('  {\n      "report": [\n          {\n              "lv": [\n', "not JSON"),  # truncated capture
        ("[]", 'no "report"'),
        ('{"report": [{"vg": [{"vg_name": "pve"}]}]}', 'no "lv" report'),  # vgs output
        ('{"report": [{"lv": {"lv_name": "x"}}]}', "not a list"),
        ('{"report": [{"lv": [["x"]]}]}', "not an object"),
        ('{"report": [{"lv": [{"vg_name": "pve"}]}]}', "no lv_name"),
        ('{"report": [{"lv": [{"lv_name": "x", "data_percent": "lots"}]}]}', "not a percentage"),
        ('{"report": [{"lv": [{"lv_name": "x", "lv_size": true}]}]}', "not a report value"),
    ],
)
def test_text_that_is_not_an_lvs_report_is_refused(text, message):
    with pytest.raises(ParseError, match=message):
        lvm.parse_lvs_json(text)


@settings(max_examples=300)
@given(st.text(alphabet='{}[]":, lvreport_nameattr0123.4', max_size=120))
def test_lvs_json_raises_only_parse_error(text):
    try:
        lvm.parse_lvs_json(text)
    except ParseError:
        pass


_KEYS = st.sampled_from(["report", "lv", "lv_name", "lv_size", "data_percent"])
_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)


@given(st.recursive(_LEAVES, lambda children: st.lists(children) | st.dictionaries(_KEYS, children)))
def test_any_json_shape_raises_only_parse_error(document):
    try:
        lvm.parse_lvs_json(json.dumps(document))
    except ParseError:
        pass


# ------------------------------------------------------------------ lvs table


def test_incus_table_pool_percentages_and_hidden_lvs():
    volumes = lvm.parse_lvs_table(read("lvs-a-incus-issue1414.txt"))
    assert [(v.name, v.hidden) for v in volumes] == [
        ("IncusThinPool", False), ("IncusThinPool_tdata", True), ("IncusThinPool_tmeta", True),
        ("lvol0_pmspare", True), ("root", False),
    ]  # fmt: skip
    pool = volumes[0]
    assert (pool.vg, pool.attr, pool.data_percent, pool.metadata_percent) == ("vg0", "twi-aotz--", 0.0, 10.43)
    assert pool.is_thin_pool and pool.size_bytes is None  # "100.00g" is not bytes
    assert volumes[4].attr == "-wi-ao----" and volumes[4].data_percent is None


def test_proxmox_table_with_repeated_headings_reads_the_first_columns():
    lvs = by_name(lvm.parse_lvs_table(read("lvs-a-proxmox-lvm2-issue57-trimmed.txt")))
    assert lvs["data"].data_percent == 97.33 and lvs["data"].metadata_percent == 3.75
    assert lvs["iso"].pool == "data" and lvs["iso"].data_percent == 44.42 and lvs["iso"].is_thin_volume
    assert lvs["ct-template"].data_percent == 2.07 and lvs["ct-template"].metadata_percent is None
    assert lvs["data_tmeta"].hidden and lvs["data_tmeta"].attr == "ewi-ao----"


def test_local_table_agrees_with_the_json_of_the_same_vg():
    table = lvm.parse_lvs_table(read("lvs-a-local-restored-pve-vg.txt"))
    report = lvm.parse_lvs_json(read("lvs-json-local-restored-pve-vg.json"))
    assert [(v.vg, v.name, v.hidden, v.attr, v.pool) for v in table] == [
        (v.vg, v.name, v.hidden, v.attr, v.pool) for v in report
    ]


def test_table_in_bytes_gives_sizes_and_skips_warning_lines():
    # The layout of lvs-a-local-restored-pve-vg.txt with --units b, after lvm's stderr warning.
    text = (
        "  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n"
        "  LV   VG  Attr       LSize     Pool\n"
        "  data pve twi-XXtz-- 83886080B\n"
    )
    (volume,) = lvm.parse_lvs_table(text)
    assert (volume.name, volume.size_bytes) == ("data", 83886080)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  Volume group \"nosuchvg\" not found\n",
        "  LV   VG  Attr\n  toolongname pve -wi-a-----\n",  # a value crossing into VG's column
    ],
)
def test_text_that_is_not_an_lvs_table_is_refused(text):
    with pytest.raises(ParseError):
        lvm.parse_lvs_table(text)


@given(st.text(alphabet=" LVGAtr[]\n-wiaoz0.g%", max_size=150))
def test_lvs_table_raises_only_parse_error(text):
    try:
        lvm.parse_lvs_table(text)
    except ParseError:
        pass


# ------------------------------------------------------------------ lvm.conf


def test_debian_default_lvm_conf_leaves_both_at_lvms_defaults():
    text = read("lvm-conf-debian-bookworm-2.03.16.conf")
    assert lvm.parse_lvm_conf(text) == ()  # every setting is a comment
    assert lvm.issue_discards(text) == lvm.IssueDiscards(False, None, None, None, ())
    assert lvm.thin_pool_discards(text) == lvm.ThinPoolDiscards("passdown", None, None, None)


def test_pve_appended_devices_block_is_read_and_sets_no_discards():
    text = read("lvm-conf-pve-bak-mikumeow-tail.conf")
    (setting,) = lvm.parse_lvm_conf(text)
    assert (setting.path, setting.value, setting.line) == ("devices/global_filter", ("r|/dev/zd.*|",), 107)
    assert setting.raw == '["r|/dev/zd.*|"]'
    assert lvm.issue_discards(text).enabled is False and lvm.issue_discards(text).line is None


def test_issue_discards_set_with_its_line():
    text = read("lvm-conf-arachsys-shelob.conf")
    assert lvm.issue_discards(text) == lvm.IssueDiscards(True, 8, "1", None, ())
    assert lvm.lvm_setting(lvm.parse_lvm_conf(text), "backup/archive_dir").value == "/var/lib/lvm/archive"


def test_pve_layout_with_issue_discards_added_in_a_second_devices_section():
    # Debian's file with PVE's block appended, then a user's own devices section: lvm merges the
    # sections. (Real files; the third part is arachsys-shelob's devices section.)
    text = read("lvm-conf-debian-bookworm-2.03.16.conf") + read("lvm-conf-pve-bak-mikumeow-tail.conf")
    text += read("lvm-conf-arachsys-shelob.conf").split("\n\n", 1)[1]
    result = lvm.issue_discards(text)
    assert result.enabled and result.raw == "1"
    assert text.split("\n")[result.line - 1] == "  issue_discards = 1"


# The next rules were checked with lvm2 2.03.16's `lvmconfig --type full` (see SOURCES.md).


@pytest.mark.parametrize(
    "text, enabled, line, ignored",
    [
        ("devices {\n issue_discards = 1\n}\ndevices {\n issue_discards = 0\n}\n", False, 5, None),  # last wins
        ("devices { issue_discards = 0 }\ndevices/issue_discards = 1\n", True, 2, None),  # a path
        ('"devices" { "issue_discards" = 1 }', True, 1, None),
        ('devices { issue_discards = "yes" }', True, 1, None),
        ("devices { issue_discards = Off }", False, 1, None),  # a bare word, case-insensitive
        ("devices { issue_discards = 2 }", True, 1, None),
        ("devices { issue_discards = 010 }", True, 1, None),  # strtoll base 0: octal 8
        ("devices { issue_discards = [1] }", True, 1, None),
        ("devices { issue_discards = 1.0 }", False, 1, "1.0 is not a boolean"),
        ('devices { issue_discards = "" }', False, 1, '"" is not a boolean'),
        ("devices { issue_discards = [] }", False, 1, "[] is not a boolean"),
        ("devices { # issue_discards = 1\n}", False, None, None),
    ],
)
def test_issue_discards_as_lvm_reads_it(text, enabled, line, ignored):
    result = lvm.issue_discards(text)
    assert (result.enabled, result.line) == (enabled, line)
    assert (result.ignored or "").startswith(ignored or "") and (result.ignored is None) == (ignored is None)


def test_issue_discards_outside_devices_is_reported_not_used():
    result = lvm.issue_discards("global {\n\tissue_discards = 1\n}\nissue_discards = 1\n")
    assert result.enabled is False and result.line is None and result.misplaced == (2, 4)


@pytest.mark.parametrize(
    "text, mode, ignored",
    [
        ('allocation { thin_pool_discards = "nopassdown" }', "nopassdown", None),
        ("allocation { thin_pool_discards = ignore }", "ignore", None),
        ('allocation { thin_pool_discards = "PassDown" }', "passdown", None),  # strcasecmp
        ('allocation { thin_pool_discards = [ "ignore" ] }', "ignore", None),
        ("allocation { thin_pool_discards = 1 }", "passdown", "1 is not a string"),
        ('allocation { thin_pool_discards = "bogus" }', None, "lvm refuses it"),
    ],
)
def test_thin_pool_discards_as_lvm_reads_it(text, mode, ignored):
    result = lvm.thin_pool_discards(text)
    assert result.mode == mode and result.line == 1
    assert (result.ignored or "").startswith(ignored or "") and (result.ignored is None) == (ignored is None)


def test_slashes_and_unclosed_strings_load_as_lvm_loads_them():
    # lvmconfig 2.03.16 prints these back as devices/issue_discards=1, "" = 1 and a="x".
    settings = lvm.parse_lvm_conf('devices//issue_discards = 1\n/ = 1\na = "x\n')
    found = [(s.path, s.value, s.line) for s in settings]
    assert found == [("devices/issue_discards", 1, 1), ("", 1, 2), ("a", "x", 3)]


def test_values_keep_their_types():
    settings = lvm.parse_lvm_conf('global {\n umask = 077\n units = "h"\n} a { b { c = -1.5 d = [ "x\\"y", 2, ] } }')
    assert [(s.path, s.value, s.line) for s in settings] == [
        ("global/umask", 63, 2),
        ("global/units", "h", 3),
        ("a/b/c", -1.5, 4),
        ("a/b/d", ('x"y', 2), 4),
    ]


@pytest.mark.parametrize(
    "text, line",
    [
        ("devices {\n issue_discards = 1\n", 3),  # lvm: Parse error at byte 31 (line 3)
        ("devices {\n issue_discards 1\n}\n", 2),  # lvm: Parse error at byte 27 (line 2)
        ("devices { issue_discards = [1 2] }", 1),  # lvm: expected a value
        ("devices {\n filter = [ \"a|.*|\n}\n", 4),  # the string runs to the end of the file
        ('"" = 1', 1),
        ("= 1", 1),
        ("}", 1),
        ("devices { = 1 }", 1),
        ("devices {\n issue_discards =\n}\n", 3),
    ],
)
def test_text_lvm_would_not_load_is_refused_with_its_line(text, line):
    with pytest.raises(ParseError, match=rf"^lvm\.conf: line {line}: "):
        lvm.parse_lvm_conf(text)


@settings(max_examples=300)
@given(st.text(alphabet=' \n\t{}[]=,#"\'/\\abc01.-+', max_size=80))
def test_lvm_conf_raises_only_parse_error(text):
    try:
        lvm.issue_discards(text)
        lvm.thin_pool_discards(text)
    except ParseError:
        pass


# ------------------------------------------------------------------ Proxmox drives


def test_disk_options_of_the_briefs_example_line():
    options = lvm.disk_options("local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G,ssd=1", "scsi0")
    assert (options.storage, options.volume, options.bus) == ("local-lvm", "vm-100-disk-0", "scsi")
    assert (options.discard, options.ssd, options.iothread, options.cache) == ("on", True, True, None)
    assert options.passes_discard and options.ssd_supported


def test_real_haos_vm_passes_discards_as_an_ssd():
    config = pveconf.parse_vm_config(read("qemu-asokolsky-suprox-106.conf"), "qemu-server/106.conf")
    efi, scsi0 = (lvm.drive_options(drive) for drive in config.drives)
    assert (scsi0.key, scsi0.line, scsi0.bus, scsi0.storage, scsi0.volume) == (
        "scsi0", 16, "scsi", "local-lvm", "vm-106-disk-1"
    )
    assert (scsi0.discard, scsi0.ssd, scsi0.iothread, scsi0.cache) == ("on", True, True, "writeback")
    assert efi.key == "efidisk0" and efi.bus is None and efi.discard is None and efi.ssd is None
    assert not efi.ssd_supported


def test_qemu_server_lvmthin_test_discard_on_without_ssd():
    config = pveconf.parse_vm_config(read("qemu-cfg2cmd-simple-lvmthin.conf"))
    options = [lvm.drive_options(drive) for drive in config.drives]
    assert [o.cache for o in options] == [None, "writeback", "writethrough", "directsync"]
    assert all(o.passes_discard and o.ssd is None and o.ssd_supported for o in options)


def test_virtio_disks_have_iothread_but_no_ssd_flag():
    config = pveconf.parse_vm_config(read("qemu-cfg2cmd-bootorder.conf"))
    options = {drive.key: lvm.drive_options(drive) for drive in config.drives}
    assert options["virtio0"].iothread is True and options["virtio0"].passes_discard
    assert not options["virtio0"].ssd_supported and options["virtio0"].ssd is None
    assert options["scsi4"].iothread is None and options["scsi4"].storage == "local"
    assert options["ide2"].is_cdrom and options["ide2"].volume == "none" and options["ide2"].ssd_supported


def test_existing_pve_fixture_ide_cdroms_and_scsi_disks():
    config = pveconf.parse_vm_config((PVE / "qemu-halimbo-100.conf").read_bytes().decode("utf-8"))
    options = {drive.key: lvm.drive_options(drive) for drive in config.drives}
    assert options["scsi0"].discard == "on" and options["scsi0"].iothread is True and options["scsi0"].ssd is None
    assert options["ide0"].is_cdrom and options["ide0"].bus == "ide"


# Inline, not from a sample (none found with a path to cite): the schema rules of Drive.pm.


@pytest.mark.parametrize(
    "key, value, ssd",
    [
        ("sata0", "local-lvm:vm-101-disk-0,discard=on,size=32G,ssd=1", True),
        ("ide0", "local-lvm:vm-101-disk-0,size=32G,ssd=on", True),
        ("scsi1", "local-lvm:vm-101-disk-0,ssd=0", False),
        ("scsi2", "local-lvm:vm-101-disk-0,ssd=No", False),
    ],
)
def test_ssd_is_a_proxmox_boolean_on_ide_sata_and_scsi(key, value, ssd):
    assert lvm.disk_options(value, key).ssd is ssd


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("virtio0", "local-lvm:vm-100-disk-0,ssd=1", "virtio has no ssd option"),
        ("sata0", "local-lvm:vm-100-disk-0,iothread=1", "sata has no iothread option"),
        ("ide1", "local-lvm:vm-100-disk-0,iothread=1", "ide has no iothread option"),
        ("scsi0", "local-lvm:vm-100-disk-0,discard=off", "discard=off is not on or ignore"),
        ("scsi0", "local-lvm:vm-100-disk-0,ssd=maybe", "ssd=maybe is not a boolean"),
        ("scsi0", "discard=on", "has no volume"),
    ],
)
def test_options_proxmox_rejects_are_parse_errors(key, value, message):
    with pytest.raises(ParseError, match=message):
        lvm.disk_options(value, key)


def test_without_a_key_the_bus_is_unknown_and_nothing_is_refused():
    options = lvm.disk_options("local-lvm:vm-100-disk-0,discard=ignore,ssd=1")
    assert (options.key, options.bus, options.discard, options.ssd) == (None, None, "ignore", True)
    assert not options.passes_discard


_DRIVE_PARTS = ["local-lvm:vm-1-disk-0", ",", "ssd=", "1", "discard=", "on", "iothread=", "x"]


@given(st.lists(st.sampled_from(_DRIVE_PARTS), max_size=12).map("".join))
def test_disk_options_raises_only_parse_error(value):
    try:
        lvm.disk_options(value, "scsi0")
    except ParseError:
        pass


# ------------------------------------------------------------------ storage.cfg


def test_lvmthin_and_zfspool_storages_of_a_real_storage_cfg():
    config = pveconf.parse_storage_cfg((PVE / "storage-lighteness.cfg").read_bytes().decode("utf-8"))
    storages = lvm.thin_storages(config)
    assert [(s.type, s.storage_id) for s in storages] == [
        ("lvmthin", "local-lvm"), ("zfspool", "hdd-8t"), ("zfspool", "kingston-500g"), ("zfspool", "hdd-500g"),
    ]  # fmt: skip
    thin = storages[0]
    assert (thin.vgname, thin.thinpool, thin.pool, thin.sparse, thin.line) == ("pve", "data", None, None, 5)
    assert (storages[1].pool, storages[1].sparse, storages[1].vgname) == ("hdd-8t", None, None)


def test_installer_zfs_storage_is_sparse_by_a_bare_flag():
    config = pveconf.parse_storage_cfg(read("storage-pve-installer-zfs.cfg"))
    (storage,) = lvm.thin_storages(config)
    assert (storage.storage_id, storage.pool, storage.sparse) == ("local-zfs", "rpool/data", True)
    assert storage.disabled is False


def test_storage_cfg_without_thin_storages():
    config = pveconf.parse_storage_cfg((PVE / "storage-spongeyperson.cfg").read_bytes().decode("utf-8"))
    assert [s.storage_id for s in lvm.thin_storages(config)] == ["local-lvm"]
