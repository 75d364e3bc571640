"""LVM and the Proxmox layers above it: where a guest's TRIM can be dropped on its way to the SSD.

A discard from a VM on LVM-thin storage crosses four switches, and the trim step reads each:

* the VM's drive line (``scsi0: local-lvm:vm-100-disk-0,discard=on,ssd=1``): without
  ``discard=on`` QEMU drops the guest's discards (:func:`disk_options`);
* the thin pool's discards mode, kept in the VG metadata and printed by ``lvs``: ``passdown``
  frees the blocks in the pool *and* passes the discard to the PVs, ``nopassdown`` only frees
  them in the pool, ``ignore`` drops them (:func:`parse_lvs_json`, :data:`LVS_ARGV`);
* ``allocation/thin_pool_discards`` in lvm.conf: the mode *new* pools get (existing pools keep
  theirs), and ``devices/issue_discards``: whether ``lvremove``/``lvreduce`` discard the freed
  extents on the PVs (:func:`issue_discards`, :func:`thin_pool_discards`). It has nothing to do
  with fstrim or online discards, which is the common misreading;
* which storages are LVM-thin or ZFS (:func:`thin_storages`, over
  :func:`ssdwizard.parsers.pveconf.parse_storage_cfg`).

The rules follow the tools' own code:

* lvs: ``lib/report/columns.h`` and ``lib/report/report.c`` (lvmteam/lvm2). Values are strings;
  an undefined number is ``""``. A seg field (``segtype``, ``discards``) turns the report into
  one row per segment, so an LV with two segments is printed twice.
* lvm.conf: ``libdm/libdm-config.c`` (the tokenizer ``_get_token``, the grammar ``_section`` /
  ``_value`` / ``_type``, ``_find_or_make_node`` for ``a/b`` paths and merged sections, and
  ``_find_config_bool`` / ``_find_config_str`` for how a value is read). A section written
  twice is merged; a key written twice keeps the last value ("WARNING: Ignoring duplicate
  config value" — lvm overwrites the first). Defaults: ``DEFAULT_ISSUE_DISCARDS 0`` and
  ``DEFAULT_THIN_POOL_DISCARDS "passdown"`` in ``lib/config/defaults.h``; the modes are matched
  with ``strcasecmp`` in ``set_pool_discards`` (``lib/metadata/thin_manip.c``).
* Proxmox drives: ``PVE/QemuServer/Drive.pm`` (qemu-server). ``discard`` is ``on`` or
  ``ignore``; ``ssd`` is in the ide, sata and scsi formats but not in virtio's (virtio-blk has
  no rotation-rate property), ``iothread`` only in scsi's and virtio's. Booleans are
  ``PVE::JSONSchema::parse_boolean`` (``1|on|yes|true`` / ``0|off|no|false``). The splitting is
  :func:`ssdwizard.parsers.pveconf.parse_drive`'s.

lvm.conf alone is read here; ``lvmlocal.conf``, profiles and ``--config`` are cascaded in front
of it by lvm and may override what it says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Tuple, Union

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.pveconf import _FALSE, _TRUE, Drive, Storage, StorageConfig, parse_drive

__all__ = [
    "DISCARD_MODES",
    "LVS_ARGV",
    "LVS_FIELDS",
    "DiskOptions",
    "IssueDiscards",
    "LogicalVolume",
    "LvmSetting",
    "ThinPoolDiscards",
    "ThinStorage",
    "disk_options",
    "drive_options",
    "issue_discards",
    "lvm_setting",
    "parse_lvm_conf",
    "parse_lvs_json",
    "parse_lvs_table",
    "thin_pool_discards",
    "thin_storages",
]

_LVS_SOURCE = "lvs"
_CONF_SOURCE = "lvm.conf"
_DRIVE_SOURCE = "qemu-server config"

#: The thin pool discards modes lvm knows (``set_pool_discards``).
DISCARD_MODES = ("passdown", "nopassdown", "ignore")

#: ``discards`` is the mode in the VG metadata; ``kernel_discards`` the one the loaded dm-thin
#: table runs with, which the kernel lowers to ``nopassdown`` when the data device cannot discard.
LVS_FIELDS = (
    "vg_name",
    "lv_name",
    "lv_attr",
    "lv_size",
    "pool_lv",
    "data_percent",
    "metadata_percent",
    "lv_metadata_size",
    "segtype",
    "discards",
    "kernel_discards",
)

#: Bytes without a unit letter, every LV including the pools' hidden data/metadata LVs.
LVS_ARGV = ("lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-a", "-o", ",".join(LVS_FIELDS))


# --------------------------------------------------------------------------- lvs


@dataclass(frozen=True)
class LogicalVolume:
    """One LV as lvs reports it. Every field is None when lvs did not print it (or printed
    ``""``, its "undefined"). ``name`` is without the brackets ``lvs -a`` puts around internal
    LVs (``[data_tmeta]``); ``hidden`` says they were there. ``size_bytes`` is None when the
    size was not printed in bytes (run with ``--units b --nosuffix``)."""

    vg: str | None
    name: str
    hidden: bool
    attr: str | None
    segtype: str | None
    size_bytes: int | None
    pool: str | None
    data_percent: float | None
    metadata_percent: float | None
    metadata_size_bytes: int | None
    discards: str | None
    kernel_discards: str | None

    @property
    def volume_type(self) -> str | None:
        """lv_attr's first character (``t`` thin pool, ``V`` thin volume, ``-`` plain...)."""
        return self.attr[0] if self.attr else None

    @property
    def is_thin_pool(self) -> bool:
        return self.volume_type == "t" or self.segtype == "thin-pool"

    @property
    def is_thin_volume(self) -> bool:
        return self.volume_type == "V" or self.segtype == "thin"

    @property
    def is_active(self) -> bool | None:
        """lv_attr's fifth character; ``X`` (unknown, e.g. no device-mapper) gives None."""
        if not self.attr or len(self.attr) < 5 or self.attr[4] == "X":
            return None
        return self.attr[4] == "a"


def _text_field(row: Mapping[str, Any], key: str, where: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParseError(_LVS_SOURCE, f"{where}: {key} is {value!r}, not a report value")
    text = str(value).strip()
    return text or None


def _bytes_field(row: Mapping[str, Any], key: str, where: str) -> int | None:
    text = _text_field(row, key, where)
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)B?", text)
    return int(match.group(1)) if match else None


def _percent_field(row: Mapping[str, Any], key: str, where: str) -> float | None:
    text = _text_field(row, key, where)
    if text is None:
        return None
    if not re.fullmatch(r"\d+(?:\.\d+)?", text):
        raise ParseError(_LVS_SOURCE, f"{where}: {key} {text!r} is not a percentage")
    return float(text)


def _split_name(name: str) -> tuple[str, bool]:
    if len(name) > 2 and name.startswith("[") and name.endswith("]"):
        return name[1:-1], True
    return name, False


def _volume(row: Mapping[str, Any], where: str) -> LogicalVolume:
    full_name = _text_field(row, "lv_full_name", where)  # lvm fullreport has no vg_name per LV
    name = _text_field(row, "lv_name", where)
    if name is None and full_name and "/" in full_name:
        name = full_name.split("/", 1)[1]
    if name is None:
        raise ParseError(_LVS_SOURCE, f"{where} has no lv_name")
    vg = _text_field(row, "vg_name", where)
    if vg is None and full_name and "/" in full_name:
        vg = full_name.split("/", 1)[0]
    bare, hidden = _split_name(name)
    return LogicalVolume(
        vg=vg,
        name=bare,
        hidden=hidden,
        attr=_text_field(row, "lv_attr", where),
        segtype=_text_field(row, "segtype", where),
        size_bytes=_bytes_field(row, "lv_size", where),
        pool=_text_field(row, "pool_lv", where),
        data_percent=_percent_field(row, "data_percent", where),
        metadata_percent=_percent_field(row, "metadata_percent", where),
        metadata_size_bytes=_bytes_field(row, "lv_metadata_size", where),
        discards=_text_field(row, "discards", where),
        kernel_discards=_text_field(row, "kernel_discards", where),
    )


def _unique(volumes: list[LogicalVolume]) -> tuple[LogicalVolume, ...]:
    """One LV per (vg, name): with seg fields lvs prints a row per segment; the first is kept."""
    seen: set[tuple[str | None, str]] = set()
    result = []
    for volume in volumes:
        if (volume.vg, volume.name) not in seen:
            seen.add((volume.vg, volume.name))
            result.append(volume)
    return tuple(result)


def parse_lvs_json(text: str) -> tuple[LogicalVolume, ...]:
    """Parse ``lvs --reportformat json`` (:data:`LVS_ARGV`), or ``lvm fullreport``'s JSON.

    No VG, or a VG without LVs, gives ``()``. :class:`ParseError` when the text is not JSON or
    has no ``lv`` report (``vgs``/``pvs`` output, a truncated capture).
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ParseError(_LVS_SOURCE, f"not JSON: {error}") from None
    reports = document.get("report") if isinstance(document, dict) else None
    if not isinstance(reports, list):
        raise ParseError(_LVS_SOURCE, 'no "report" list: not lvs --reportformat json output')
    volumes: list[LogicalVolume] = []
    found = False
    for number, report in enumerate(reports):
        if not isinstance(report, dict) or "lv" not in report:
            continue
        rows = report["lv"]
        if not isinstance(rows, list):
            raise ParseError(_LVS_SOURCE, f'report {number}: "lv" is not a list')
        found = True
        for index, row in enumerate(rows):
            where = f"report {number}, lv {index}"
            if not isinstance(row, dict):
                raise ParseError(_LVS_SOURCE, f"{where} is not an object")
            volumes.append(_volume(row, where))
    if not found:
        raise ParseError(_LVS_SOURCE, 'no "lv" report: is this vgs or pvs output?')
    return _unique(volumes)


# The default headings (lib/report/columns.h) of the fields read here.
_HEADINGS = {
    "LV": "lv_name",
    "VG": "vg_name",
    "Attr": "lv_attr",
    "LSize": "lv_size",
    "Pool": "pool_lv",
    "Data%": "data_percent",
    "Meta%": "metadata_percent",
    "Type": "segtype",
}


def parse_lvs_table(text: str) -> tuple[LogicalVolume, ...]:
    """Parse the human ``lvs`` / ``lvs -a`` table, as people paste it.

    lvm pads every column to one width and separates columns by a space; headings are
    left-aligned, sizes right-aligned, so a column runs from its heading to the next one. Lines
    before the ``LV`` heading (warnings) are skipped. Sizes are human (``<319.61g``) unless
    ``--units b --nosuffix`` was used, so ``size_bytes`` is usually None here. A heading given
    twice (``-o+lv_size``) is read from its first column.
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.split()[:1] == ["LV"]), None)
    if start is None:
        raise ParseError(_LVS_SOURCE, "no lvs table: no line starts with the LV heading")
    header = lines[start].rstrip()
    columns = [(match.start(), match.group()) for match in re.finditer(r"\S+", header)]
    volumes: list[LogicalVolume] = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip():
            continue
        row: dict[str, str] = {}
        for i, (begin, heading) in enumerate(columns):
            if i > 0 and 0 < begin < len(line) and not line[begin - 1].isspace() and not line[begin].isspace():
                raise ParseError(_LVS_SOURCE, f"line {number}: a value crosses into the {heading} column")
            end = columns[i + 1][0] if i + 1 < len(columns) else len(line)
            field = _HEADINGS.get(heading)
            if field and field not in row:
                row[field] = line[begin:end].strip()
        volumes.append(_volume(row, f"line {number}"))
    return _unique(volumes)


# --------------------------------------------------------------------------- lvm.conf

ConfValue = Union[int, float, str, Tuple[Union[int, float, str], ...]]


@dataclass(frozen=True)
class LvmSetting:
    """One ``key = value`` of lvm.conf, with its full path (``devices/issue_discards``).

    ``value`` is what libdm reads: an int (C ``strtoll`` base 0, so ``077`` is octal), a float, a
    string (quotes removed, ``\\"`` unescaped) or a tuple for ``[ ... ]``. ``raw`` is the value's
    text as written; ``line`` the line of the key.
    """

    path: str
    value: ConfValue
    raw: str
    line: int


_SPACE = " \t\n\v\f\r"
_PUNCT = {"{": "section_b", "}": "section_e", "[": "array_b", "]": "array_e", ",": "comma", "=": "eq"}
_VALUE_TOKENS = ("int", "float", "string", "bare")


@dataclass(frozen=True)
class _Token:
    kind: str  # section_b section_e array_b array_e comma eq int float string bare ident eof
    text: str
    start: int
    end: int
    line: int


def _tokens(text: str) -> Iterator[_Token]:
    """libdm's ``_get_token``: numbers and bare words are values only right after ``=``, ``[``
    or ``,``; anywhere else the same characters are an identifier."""
    text = text.split("\0", 1)[0]  # C stops at a NUL
    pos, line, previous = 0, 1, ""
    size = len(text)
    while True:
        while pos < size and (text[pos] in _SPACE or text[pos] == "#"):
            if text[pos] == "#":
                while pos < size and text[pos] != "\n":
                    pos += 1
            else:
                if text[pos] == "\n":
                    line += 1
                pos += 1
        if pos >= size:
            yield _Token("eof", "", pos, pos, line)
            return
        values_allowed = previous in ("eq", "array_b", "comma")
        begin, char = pos, text[pos]
        if char in _PUNCT:
            kind, pos = _PUNCT[char], pos + 1
        elif char in "\"'":
            pos += 1
            while pos < size and text[pos] != char:
                if char == '"' and text[pos] == "\\" and pos + 1 < size:
                    pos += 1
                pos += 1
            # An unclosed string runs to the end of the file, as in libdm (which then drops the
            # last character as if it were the closing quote).
            kind, pos = "string", min(pos + 1, size)
        elif values_allowed and (char.isdigit() and char.isascii() or char in "+-."):
            kind = "float" if char == "." else "int"
            pos += 1
            while pos < size:
                if text[pos].isdigit() and text[pos].isascii():
                    pos += 1
                elif text[pos] == "." and kind != "float":
                    kind, pos = "float", pos + 1
                else:
                    break
        else:
            while pos < size and text[pos] not in _SPACE and text[pos] not in "#={}":
                pos += 1
            kind = "bare" if values_allowed else "ident"
        token = _Token(kind, text[begin:pos], begin, pos, line)
        line += token.text.count("\n")  # a quoted string may span lines
        previous = kind
        yield token


def _c_strtoll(text: str) -> int:
    match = re.match(r"([+-]?)(0[0-7]*|[1-9][0-9]*)?", text)
    sign, digits = (match.group(1), match.group(2)) if match else ("", None)
    if not digits:
        return 0
    number = int(digits, 8) if digits.startswith("0") else int(digits)
    return -number if sign == "-" else number


def _c_strtod(text: str) -> float:
    match = re.match(r"[+-]?(\d+\.?\d*|\.\d+)", text)
    return float(match.group()) if match else 0.0


def _unescape(quoted: str) -> str:
    inner = quoted[1:-1]
    return re.sub(r'\\(["\\])', r"\1", inner) if quoted[0] == '"' else inner


def _scalar(token: _Token) -> int | float | str:
    if token.kind == "int":
        return _c_strtoll(token.text)
    if token.kind == "float":
        return _c_strtod(token.text)
    if token.kind == "string":
        return _unescape(token.text)
    return token.text


class _ConfParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.token = next(self.tokens)
        self.settings: list[LvmSetting] = []

    def advance(self) -> _Token:
        token = self.token
        self.token = next(self.tokens)
        return token

    def fail(self, message: str) -> ParseError:
        return ParseError(_CONF_SOURCE, f"line {self.token.line}: {message}")

    def expect(self, kind: str) -> _Token:
        if self.token.kind != kind:
            found = self.token.text or "end of file"
            raise self.fail(f"unexpected token {found!r}")
        return self.advance()

    def section(self, parent: tuple[str, ...]) -> None:
        if self.token.kind == "string":
            key = _unescape(self.advance().text)
            line = self.token.line
        else:
            line = self.token.line
            key = self.expect("ident").text
        if not key:
            raise ParseError(_CONF_SOURCE, f"line {line}: empty section identifier")
        # "a//b" and "/a" are a/b and a, as _find_or_make_node skips slashes; "/" alone is a
        # node with an empty name, which lvm loads (and warns about).
        segments = tuple(part for part in key.split("/") if part) or ("",)
        path = parent + segments
        if self.token.kind == "section_b":
            self.advance()
            while self.token.kind != "section_e":
                self.section(path)
            self.advance()
            return
        self.expect("eq")
        first = self.token
        value: ConfValue
        if self.token.kind == "array_b":
            self.advance()
            items: list[int | float | str] = []
            while self.token.kind != "array_e":
                items.append(self.scalar())
                if self.token.kind == "comma":
                    self.advance()
            last = self.advance()
            value = tuple(items)
        else:
            last = self.token
            value = self.scalar()
        raw = self.text[first.start : last.end]
        self.settings.append(LvmSetting("/".join(path), value, raw, line))

    def scalar(self) -> int | float | str:
        if self.token.kind not in _VALUE_TOKENS:
            raise self.fail("expected a value")
        return _scalar(self.advance())


def parse_lvm_conf(text: str) -> tuple[LvmSetting, ...]:
    """Every setting of an lvm.conf, in file order, as libdm parses it.

    :class:`ParseError` (with the line, like lvm's "Parse error at byte N (line L)") for text
    lvm refuses to load: an unclosed section, a key without ``=``, a missing value.
    """
    parser = _ConfParser(text)
    while parser.token.kind != "eof":
        parser.section(())
    return tuple(parser.settings)


def lvm_setting(settings: tuple[LvmSetting, ...], path: str) -> LvmSetting | None:
    """The setting lvm uses for ``path``: the last one written (sections merge)."""
    return next((s for s in reversed(settings) if s.path == path), None)


@dataclass(frozen=True)
class IssueDiscards:
    """``devices/issue_discards``: discard a PV's extents when an LV stops using them.

    ``enabled`` is what lvm acts on; with nothing written (``line`` and ``raw`` None) that is
    lvm's default, off. ``ignored`` says why lvm falls back to the default for a value that is
    written (a float, a word it does not know). ``misplaced`` are lines that set an
    ``issue_discards`` outside ``devices``, which lvm does not read.
    """

    enabled: bool
    line: int | None
    raw: str | None
    ignored: str | None
    misplaced: tuple[int, ...]


_BOOL_WORDS = {"y": True, "yes": True, "on": True, "true": True, "n": False, "no": False, "off": False, "false": False}


def _as_bool(value: ConfValue) -> bool | None:
    """libdm's ``_find_config_bool``: an int is true when non-zero, a string one of its words;
    anything else (float, empty array, other words) is not a boolean."""
    if isinstance(value, tuple):
        return _as_bool(value[0]) if value else None
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return _BOOL_WORDS.get(value.lower())
    return None


def issue_discards(lvm_conf_text: str) -> IssueDiscards:
    """The effective ``devices { issue_discards }`` of an lvm.conf; :class:`ParseError` if lvm
    could not load the file."""
    settings = parse_lvm_conf(lvm_conf_text)
    misplaced = tuple(
        s.line for s in settings if s.path.rsplit("/", 1)[-1] == "issue_discards" and s.path != "devices/issue_discards"
    )
    setting = lvm_setting(settings, "devices/issue_discards")
    if setting is None:
        return IssueDiscards(False, None, None, None, misplaced)
    value = _as_bool(setting.value)
    ignored = None if value is not None else f"{setting.raw} is not a boolean; lvm uses its default, 0"
    return IssueDiscards(bool(value), setting.line, setting.raw, ignored, misplaced)


@dataclass(frozen=True)
class ThinPoolDiscards:
    """``allocation/thin_pool_discards``: the discards mode lvm gives *new* thin pools.

    ``mode`` is what a new pool gets; with nothing written (``line``/``raw`` None) lvm's default,
    ``passdown``. A non-string value is ignored (default, ``ignored`` says so); a string lvm does
    not know makes ``lvcreate`` of a thin pool fail, and ``mode`` is None.
    """

    mode: str | None
    line: int | None
    raw: str | None
    ignored: str | None


def thin_pool_discards(lvm_conf_text: str) -> ThinPoolDiscards:
    """The effective ``allocation { thin_pool_discards }`` of an lvm.conf."""
    setting = lvm_setting(parse_lvm_conf(lvm_conf_text), "allocation/thin_pool_discards")
    if setting is None:
        return ThinPoolDiscards("passdown", None, None, None)
    value = setting.value
    if isinstance(value, tuple):  # libdm reads a list's first item
        value = value[0] if value else ""
    if not isinstance(value, str) or not value:  # _find_config_str ignores it: the default
        reason = f"{setting.raw} is not a string; lvm uses passdown"
        return ThinPoolDiscards("passdown", setting.line, setting.raw, reason)
    mode = value.lower()
    if mode not in DISCARD_MODES:
        reason = f'lvm refuses it: Thin pool discards type "{value}" is unknown'
        return ThinPoolDiscards(None, setting.line, setting.raw, reason)
    return ThinPoolDiscards(mode, setting.line, setting.raw, None)


# --------------------------------------------------------------------------- Proxmox drives

_BUS = re.compile(r"^(ide|sata|scsi|virtio)\d+$")
_SSD_BUSES = ("ide", "sata", "scsi")
_IOTHREAD_BUSES = ("scsi", "virtio")


@dataclass(frozen=True)
class DiskOptions:
    """What a VM drive line says about discards and SSD emulation.

    ``discard`` is ``on`` or ``ignore`` as written; None means not written, which Proxmox treats
    as ``ignore`` (QEMU drops the guest's discards). ``ssd`` None: not written, so the guest sees
    a rotational disk. ``bus`` comes from the key (None for ``efidisk0``/``tpmstate0`` or no key).
    """

    key: str | None
    bus: str | None
    storage: str | None
    volume: str
    discard: str | None
    ssd: bool | None
    iothread: bool | None
    cache: str | None
    is_cdrom: bool
    line: int

    @property
    def passes_discard(self) -> bool:
        return self.discard == "on"

    @property
    def ssd_supported(self) -> bool:
        """Whether Proxmox accepts ``ssd=1`` on this bus (not on virtio-blk)."""
        return self.bus in _SSD_BUSES


def _drive_bool(drive: Drive, name: str) -> bool | None:
    value = drive.option(name)
    if value is None:
        return None
    if _TRUE.match(value):
        return True
    if _FALSE.match(value):
        return False
    raise ParseError(_DRIVE_SOURCE, f"line {drive.line}: {drive.key}: {name}={value} is not a boolean")


def drive_options(drive: Drive) -> DiskOptions:
    """The options of a drive :func:`ssdwizard.parsers.pveconf.parse_vm_config` found.

    :class:`ParseError` for a value Proxmox's schema rejects (``discard=off``, ``ssd=1`` on
    virtio, ``iothread`` on ide/sata): Proxmox would not accept the drive either.
    """
    match = _BUS.match(drive.key)
    bus = match.group(1) if match else None
    discard = drive.option("discard")
    if discard is not None and discard not in ("on", "ignore"):
        raise ParseError(_DRIVE_SOURCE, f"line {drive.line}: {drive.key}: discard={discard} is not on or ignore")
    ssd = _drive_bool(drive, "ssd")
    if ssd is not None and bus is not None and bus not in _SSD_BUSES:
        raise ParseError(_DRIVE_SOURCE, f"line {drive.line}: {drive.key}: {bus} has no ssd option")
    iothread = _drive_bool(drive, "iothread")
    if iothread is not None and bus is not None and bus not in _IOTHREAD_BUSES:
        raise ParseError(_DRIVE_SOURCE, f"line {drive.line}: {drive.key}: {bus} has no iothread option")
    return DiskOptions(
        key=drive.key or None,
        bus=bus,
        storage=drive.storage,
        volume=drive.volume,
        discard=discard,
        ssd=ssd,
        iothread=iothread,
        cache=drive.cache,
        is_cdrom=drive.is_cdrom,
        line=drive.line,
    )


def disk_options(value: str, key: str | None = None) -> DiskOptions:
    """Parse one drive value (``local-lvm:vm-100-disk-0,discard=on,iothread=1,size=32G,ssd=1``).

    ``key`` (``scsi0``) gives the bus, and with it which options are allowed.
    """
    return drive_options(parse_drive(key or "", value))


# --------------------------------------------------------------------------- storage.cfg


@dataclass(frozen=True)
class ThinStorage:
    """An ``lvmthin`` or ``zfspool`` storage: the two local storages whose VM disks are thin.

    lvmthin: ``vgname`` and ``thinpool`` name the pool LV (``lvs`` tells its discards mode).
    zfspool: ``pool`` is the dataset; ``sparse`` None means not written (Proxmox then creates
    zvols with a full refreservation).
    """

    storage_id: str
    type: str
    line: int
    vgname: str | None
    thinpool: str | None
    pool: str | None
    sparse: bool | None
    disabled: bool


def thin_storages(config: StorageConfig) -> tuple[ThinStorage, ...]:
    """The lvmthin and zfspool storages of a parsed storage.cfg, in file order."""
    return tuple(_thin_storage(s) for s in config.storages if s.type in ("lvmthin", "zfspool"))


def _thin_storage(storage: Storage) -> ThinStorage:
    zfs = storage.type == "zfspool"
    return ThinStorage(
        storage_id=storage.storage_id,
        type=storage.type,
        line=storage.line,
        vgname=storage.option("vgname"),
        thinpool=storage.option("thinpool"),
        pool=storage.pool if zfs else None,
        sparse=storage._flag("sparse") if zfs else None,
        disabled=storage.disabled,
    )
