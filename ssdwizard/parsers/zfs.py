"""Parse what OpenZFS prints about pools, datasets and the ARC, and Debian's periodic-trim rule.

The trim step has to answer "are this machine's ZFS pools ever trimmed?", and on Debian,
Ubuntu and Proxmox the answer takes four pieces of text:

* ``zpool get -Hp all`` (or the ``zpool get all`` table people paste): ``autotrim``, ``ashift``,
  sizes and health per pool. Both forms are read; the tab form gives exact bytes, the table
  gives what ``zfs_nicenum`` printed ("2.09M"), converted back with 1024 multiples.
* ``zpool status -t`` (also plain, ``-P``, ``-L``, ``-s``, ``-i``): the leaf vdevs and the
  per-leaf TRIM annotation that ``print_status_trim()`` in ``cmd/zpool/zpool_main.c`` prints:
  ``(N% trimmed, started at …)``, ``(N% trimmed, suspended, started at …)``,
  ``(100% trimmed, completed at …)``, ``(trim unsupported)``, ``(untrimmed)``, and without
  ``-t`` only ``(trimming)`` while a trim runs.
* ``zfs get`` for ``atime``/``relatime``/``recordsize``/``volblocksize``/``compression``/``type``.
* Debian's ``/etc/cron.d/zfsutils-linux`` and ``/usr/lib/zfs-linux/trim``: a monthly job that,
  by default, trims only pools made entirely of NVMe disks (see
  :func:`debian_trim_decision`). A SATA SSD pool on a stock install is never trimmed unless
  ``autotrim=on`` or ``org.debian:periodic-trim=enable``, which is the finding this exists for.

The ARC readers (``/proc/spl/kstat/zfs/arcstats``, ``/sys/module/zfs/parameters/zfs_arc_max``)
are here too because the wizard weighs the ARC against the RAM the rbd caches want.

Every field is None when the text does not say it, never a default. Text that is not the
tool's output raises :class:`ParseError`; empty output (no pools, "no pools available")
gives an empty result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ssdwizard.parsers import ParseError

__all__ = [
    "ArcStats",
    "CronJob",
    "DatasetProperties",
    "PeriodicTrimInput",
    "TrimDecision",
    "ZfsArcMax",
    "ZfsutilsCron",
    "ZpoolLeaf",
    "ZpoolProperties",
    "ZpoolProperty",
    "ZpoolStatus",
    "debian_periodic_trim_pools",
    "debian_trim_decision",
    "debian_trim_script_kind",
    "default_arc_max_bytes",
    "nvme_only",
    "parse_arcstats",
    "parse_human_size",
    "parse_zfs_arc_max",
    "parse_zfs_datasets",
    "parse_zfs_get",
    "parse_zfsutils_cron",
    "parse_zpool_get",
    "parse_zpool_status",
]

PERIODIC_TRIM = "org.debian:periodic-trim"
PERIODIC_SCRUB = "org.debian:periodic-scrub"

# zfs_nicenum() divides by 1024 and prints one of these letters (lib/libzfs/libzfs_util.c).
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
# A comma decimal point is what a de_DE/ru_RU locale prints ("1,81T", openzfs/zfs#10229).
_HUMAN_SIZE = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)([BKMGTPE]?)$")


def parse_human_size(value: str | None) -> int | None:
    """``"131072"`` → 131072, ``"128K"`` → 131072, ``"2.09M"`` → 2191523; ``"-"``/``"none"`` → None.

    A rounded value stays rounded: "2.09M" is what zfs printed, not what the pool holds."""
    if value is None:
        return None
    match = _HUMAN_SIZE.match(value.strip())
    if not match:
        return None
    digits, unit = match.group(1), match.group(2)
    if digits.isdigit():
        # -p prints exact integers; a float would round those above 2**53.
        return int(digits) * _UNITS[unit]
    try:
        return int(round(float(digits.replace(",", ".")) * _UNITS[unit]))
    except OverflowError:
        return None


def _on_off(value: str | None) -> bool | None:
    if value == "on":
        return True
    if value == "off":
        return False
    return None


def _user_value(value: str | None) -> str | None:
    # An unset user property prints "-" when asked for by name.
    return None if value in (None, "", "-") else value


# ------------------------------------------------------------------ property tables


@dataclass(frozen=True)
class _Row:
    name: str
    property: str
    value: str
    source: str | None


_HEADER = re.compile(r"^\s*NAME\s+PROPERTY\s+VALUE(\s+SOURCE)?\s*$")
_PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.:@-]+$")


def _property_rows(text: str, source: str) -> list[_Row]:
    """Rows of ``zpool get``/``zfs get`` in either form.

    The ``-H`` form is one row a line, fields split by a tab (``-o`` may drop columns, but
    name, property and value are needed). The table form has a ``NAME PROPERTY VALUE SOURCE``
    header; values may hold spaces ("Thu Feb  6  1:13 2014", "inherited from tank"), so the
    columns are cut where the header's words start, as ``zprop_print_one_property()`` pads
    every column to its widest cell."""
    if not isinstance(text, str):
        raise ParseError(source, "expected text")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    content = [line for line in lines if line.strip()]
    if not content:
        return []
    if any("\t" in line for line in content):
        return _tab_rows(content, source)
    return _table_rows(content, source)


def _tab_rows(lines: list[str], source: str) -> list[_Row]:
    rows: list[_Row] = []
    for line in lines:
        fields = line.split("\t")
        # A line cut short (truncated capture) is left out; a pool or dataset name never
        # contains a tab, so three fields with a valid property name are a row.
        if len(fields) < 3 or not fields[0] or not _PROPERTY_NAME.match(fields[1]):
            continue
        rows.append(_Row(fields[0], fields[1], fields[2], fields[3] if len(fields) > 3 else None))
    if not rows:
        raise ParseError(source, "tab-separated text without NAME<TAB>PROPERTY<TAB>VALUE rows")
    return rows


def _table_rows(lines: list[str], source: str) -> list[_Row]:
    header_index = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if header_index is None:
        if len(lines) == 1 and lines[0].strip().lower() == "no pools available":
            return []
        raise ParseError(source, "no 'NAME PROPERTY VALUE SOURCE' header and no tab-separated rows")
    header = lines[header_index]
    value_col = header.index("VALUE")
    source_col = header.find("SOURCE")
    rows: list[_Row] = []
    for line in lines[header_index + 1:]:
        tokens = line.split()
        if len(tokens) < 3 or not _PROPERTY_NAME.match(tokens[1]):
            continue
        if _HEADER.match(line):
            continue
        if len(line) > value_col and line[value_col - 1] == " " and (source_col < 0 or len(line) > source_col):
            value = (line[value_col:source_col] if source_col >= 0 else line[value_col:]).strip()
            src = line[source_col:].strip() if source_col >= 0 else None
        else:
            # A row narrower than the header (hand-trimmed paste): split on whitespace.
            value = tokens[2]
            src = " ".join(tokens[3:]) if len(tokens) > 3 else None
        if not value:
            continue
        rows.append(_Row(tokens[0], tokens[1], value, src or None))
    return rows


# ------------------------------------------------------------------ zpool get


@dataclass(frozen=True)
class ZpoolProperty:
    """One property as printed: value and source (``-``, ``default``, ``local``, …)."""

    name: str
    value: str
    source: str | None


@dataclass(frozen=True)
class ZpoolProperties:
    """What ``zpool get all`` says about one pool.

    ``ashift`` 0 means "auto-detected per top-level vdev when it was created" (zpoolprops(7));
    the vdevs' real ashift is then only in ``zpool get ashift POOL all-vdevs`` or ``zdb``.
    ``periodic_trim``/``periodic_scrub`` are pool user properties (OpenZFS ≥ 2.2); Debian's
    scripts read the root *dataset*'s property of the same name, see
    :func:`debian_trim_decision`."""

    pool: str
    health: str | None
    autotrim: bool | None
    ashift: int | None
    size_bytes: int | None
    allocated_bytes: int | None
    free_bytes: int | None
    #: True when the sizes came from ``-p`` (exact bytes), False for rounded "2.09M" values.
    exact_sizes: bool | None
    periodic_trim: str | None
    periodic_scrub: str | None
    properties: tuple[ZpoolProperty, ...]

    @property
    def values(self) -> dict[str, str]:
        return {item.name: item.value for item in self.properties}

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def parse_zpool_get(text: str) -> dict[str, ZpoolProperties]:
    """``zpool get -Hp all`` or ``zpool get all`` → pool name → :class:`ZpoolProperties`.

    Empty output or "no pools available" gives ``{}``; text that is neither form raises
    :class:`ParseError`."""
    rows = _property_rows(text, "zpool get")
    by_pool: dict[str, list[ZpoolProperty]] = {}
    for row in rows:
        by_pool.setdefault(row.name, []).append(ZpoolProperty(row.property, row.value, row.source))
    return {pool: _pool_properties(pool, props) for pool, props in by_pool.items()}


def _pool_properties(pool: str, props: list[ZpoolProperty]) -> ZpoolProperties:
    values = {item.name: item.value for item in props}
    ashift_text = values.get("ashift")
    size_text = values.get("size")
    return ZpoolProperties(
        pool=pool,
        health=values.get("health"),
        autotrim=_on_off(values.get("autotrim")),
        ashift=int(ashift_text) if ashift_text is not None and ashift_text.isascii() and ashift_text.isdigit() else None,
        size_bytes=parse_human_size(values.get("size")),
        allocated_bytes=parse_human_size(values.get("allocated")),
        free_bytes=parse_human_size(values.get("free")),
        exact_sizes=None if size_text is None or parse_human_size(size_text) is None else size_text.isdigit(),
        periodic_trim=_user_value(values.get(PERIODIC_TRIM)),
        periodic_scrub=_user_value(values.get(PERIODIC_SCRUB)),
        properties=tuple(props),
    )


# ------------------------------------------------------------------ zfs get


def parse_zfs_get(text: str) -> dict[str, dict[str, str]]:
    """``zfs get -Hp -o name,property,value,source …`` or the ``zfs get`` table →
    dataset → property → value, in the order printed. Empty output gives ``{}``."""
    result: dict[str, dict[str, str]] = {}
    for row in _property_rows(text, "zfs get"):
        result.setdefault(row.name, {})[row.property] = row.value
    return result


@dataclass(frozen=True)
class DatasetProperties:
    """The properties the trim and atime findings read for one dataset or zvol."""

    name: str
    type: str | None
    atime: bool | None
    relatime: bool | None
    recordsize_bytes: int | None
    volblocksize_bytes: int | None
    compression: str | None

    @property
    def updates_atime_on_read(self) -> bool | None:
        """True when every read writes an access time (atime=on, relatime=off): the write
        amplification an SSD pool is spared by relatime or atime=off. None for zvols."""
        if self.type == "volume" or self.atime is None:
            return None
        if not self.atime:
            return False
        return None if self.relatime is None else not self.relatime


def parse_zfs_datasets(text: str) -> dict[str, DatasetProperties]:
    """:func:`parse_zfs_get`, then the properties the steps read, typed."""
    result: dict[str, DatasetProperties] = {}
    for name, props in parse_zfs_get(text).items():
        result[name] = DatasetProperties(
            name=name,
            type=props.get("type"),
            atime=_on_off(props.get("atime")),
            relatime=_on_off(props.get("relatime")),
            recordsize_bytes=parse_human_size(props.get("recordsize")),
            volblocksize_bytes=parse_human_size(props.get("volblocksize")),
            compression=props.get("compression"),
        )
    return result


# ------------------------------------------------------------------ zpool status


#: The section headings print_class_vdevs()/print_l2cache()/print_spares() put in "config:".
SECTIONS = ("logs", "dedup", "special", "cache", "spares")

# Interior vdevs: zpool_vdev_name(..., VDEV_NAME_TYPE_ID) gives "<type>-<id>"; dRAID adds its
# geometry ("draid2:4d:12c:0s-0").
_INTERIOR = re.compile(r"^(?:mirror|raidz[123]?|draid[123]?(?::[0-9a-z]+)*|replacing|spare|root)-[0-9]+$")
_COUNT = re.compile(r"^[0-9]+(?:\.[0-9]+)?[KMGTPE]?$")
_KEY = re.compile(r"^\s*(pool|id|state|status|action|see|scan|remove|checkpoint|config|errors):(?:\s(.*))?$")
_TRIM_PERCENT = re.compile(
    r"^([0-9]+)% trimmed(?:, (suspended, started|started|completed) at (.+))?$"
)
_PARENS = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class ZpoolLeaf:
    """One leaf vdev line of the ``config:`` tree.

    ``group`` is the top-level interior vdev it belongs to (``mirror-0``, ``raidz2-0``), None
    for a disk that is a top-level vdev by itself. ``section`` is None for the data vdevs,
    else ``logs``, ``cache``, ``spares``, ``special`` or ``dedup``. Error counts are None where
    the line has none (spares). ``trim_state`` is ``complete``, ``in_progress``, ``suspended``,
    ``untrimmed``, ``unsupported`` or None (no annotation: plain ``zpool status`` while no trim
    runs); ``trim_when`` is the date exactly as zpool printed it (``strftime("%c")``, so in the
    machine's locale and time zone)."""

    name: str
    group: str | None
    section: str | None
    state: str | None
    read_errors: int | None
    write_errors: int | None
    checksum_errors: int | None
    slow_ios: int | None
    trim_state: str | None
    trim_percent: int | None
    trim_when: str | None
    #: Everything after the counts ("(uninitialized)  (untrimmed)", "was /dev/sdb1"), verbatim.
    remark: str | None
    line: str


@dataclass(frozen=True)
class ZpoolStatus:
    """One pool of ``zpool status``. ``config_root`` is the first name under NAME, normally the
    pool's name (it differs in hand-edited pastes, and is None when the paste has no tree)."""

    pool: str
    state: str | None
    status: str | None
    action: str | None
    scan: str | None
    errors: str | None
    config_root: str | None
    leaves: tuple[ZpoolLeaf, ...]

    @property
    def data_leaves(self) -> tuple[ZpoolLeaf, ...]:
        return tuple(leaf for leaf in self.leaves if leaf.section is None)

    @property
    def groups(self) -> tuple[str, ...]:
        seen: list[str] = []
        for leaf in self.leaves:
            if leaf.group is not None and leaf.group not in seen:
                seen.append(leaf.group)
        return tuple(seen)


_EMPTY_STATUS = ("no pools available", "all pools are healthy")


def parse_zpool_status(text: str) -> dict[str, ZpoolStatus]:
    """``zpool status [-t] [-P] [-L] [-s] [-i] [-v]`` → pool name → :class:`ZpoolStatus`.

    "no pools available" and ``-x``'s "all pools are healthy" give ``{}``. Text with no
    ``pool:`` line otherwise raises :class:`ParseError`. A capture cut short keeps what it
    has (a pool without ``errors:`` has ``errors`` None)."""
    if not isinstance(text, str):
        raise ParseError("zpool status", "expected text")
    lines = [line.rstrip("\r").expandtabs(8) for line in text.split("\n")]
    blocks: list[list[str]] = []
    for line in lines:
        key = _KEY.match(line)
        if key and key.group(1) == "pool":
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        elif line.strip() and line.strip().lower() not in _EMPTY_STATUS:
            raise ParseError("zpool status", f"text before any 'pool:' line: {line.strip()[:60]!r}")
    result: dict[str, ZpoolStatus] = {}
    for block in blocks:
        status = _pool_status(block)
        if status is not None:
            result[status.pool] = status
    return result


def _pool_status(block: list[str]) -> ZpoolStatus | None:
    fields: dict[str, list[str]] = {}
    config: list[str] = []
    current: str | None = None
    for line in block:
        key = _KEY.match(line)
        if key:
            current = key.group(1)
            fields.setdefault(current, []).append((key.group(2) or "").strip())
            continue
        if current == "config":
            config.append(line)
        elif current is not None and line.strip():
            # status:/action:/scan: wrap onto indented continuation lines.
            fields[current].append(line.strip())
    pool = (fields.get("pool") or [""])[0]
    if not pool:
        return None

    def text_of(name: str) -> str | None:
        parts = [part for part in fields.get(name, []) if part]
        return "\n".join(parts) if parts else None

    root, leaves = _config_tree(config)
    return ZpoolStatus(
        pool=pool,
        state=text_of("state"),
        status=text_of("status"),
        action=text_of("action"),
        scan=text_of("scan"),
        errors=text_of("errors"),
        config_root=root,
        leaves=tuple(leaves),
    )


def _config_tree(lines: list[str]) -> tuple[str | None, list[ZpoolLeaf]]:
    """The leaves under ``config:``. Nesting is read from indentation, as zpool prints two
    more spaces per level; a paste that lost its indentation (everything at one depth) still
    puts the disks after ``raidz2-0`` into that group, since a leaf cannot follow an interior
    vdev at the same depth in real output unless it is a new top-level disk, and that case
    is told apart by its indent being deeper than the root's."""
    header_seen = False
    slow = False
    root: str | None = None
    root_indent = 0
    section: str | None = None
    group: str | None = None
    group_indent = 0
    leaves: list[ZpoolLeaf] = []
    for line in lines:
        tokens = line.split()
        if not header_seen:
            if tokens[:2] == ["NAME", "STATE"]:
                header_seen = True
                slow = "SLOW" in tokens
            continue
        if not tokens:
            if root is not None:
                break
            continue
        indent = len(line) - len(line.lstrip(" "))
        if len(tokens) == 1 and tokens[0] in SECTIONS:
            section, group = tokens[0], None
            continue
        if root is None:
            root, root_indent = tokens[0], indent
            continue
        name = tokens[0]
        if _INTERIOR.match(name):
            if group is None or indent <= group_indent:
                group, group_indent = name, indent
            continue
        flat = group is not None and indent == group_indent == root_indent
        if group is not None and not (indent > group_indent or flat):
            group = None
        leaves.append(_leaf(line, tokens, group, section, slow))
    return root, leaves


def _count(token: str | None) -> int | None:
    if token is None or not _COUNT.match(token):
        return None
    return parse_human_size(token)


def _leaf(line: str, tokens: list[str], group: str | None, section: str | None, slow: bool) -> ZpoolLeaf:
    state = tokens[1] if len(tokens) > 1 else None
    counts: list[int | None] = []
    position = 2
    wanted = 4 if slow else 3
    while position < len(tokens) and len(counts) < wanted and _COUNT.match(tokens[position]):
        counts.append(_count(tokens[position]))
        position += 1
    counts += [None] * (4 - len(counts))
    remark = _after_tokens(line, position)
    trim_state, trim_percent, trim_when = _trim_annotation(remark)
    return ZpoolLeaf(
        name=tokens[0],
        group=group,
        section=section,
        state=state,
        read_errors=counts[0],
        write_errors=counts[1],
        checksum_errors=counts[2],
        slow_ios=counts[3] if slow else None,
        trim_state=trim_state,
        trim_percent=trim_percent,
        trim_when=trim_when,
        remark=remark,
        line=line.strip(),
    )


def _after_tokens(line: str, count: int) -> str | None:
    rest = line
    for _ in range(count):
        rest = rest.lstrip()
        cut = re.search(r"\s", rest)
        rest = rest[cut.start():] if cut else ""
    rest = rest.strip()
    return rest or None


def _trim_annotation(remark: str | None) -> tuple[str | None, int | None, str | None]:
    for inner in _PARENS.findall(remark or ""):
        inner = inner.strip()
        if inner == "untrimmed":
            return "untrimmed", None, None
        if inner == "trim unsupported":
            return "unsupported", None, None
        if inner == "trimming":
            return "in_progress", None, None
        match = _TRIM_PERCENT.match(inner)
        if match:
            kind = match.group(2)
            state = {"completed": "complete", "started": "in_progress", "suspended, started": "suspended"}.get(
                kind or "", None
            )
            return state, int(match.group(1)), match.group(3)
    return None, None, None


# ------------------------------------------------------------------ ARC


@dataclass(frozen=True)
class ArcStats:
    """``/proc/spl/kstat/zfs/arcstats``: the ARC's size now (``size``), its target (``c``) and
    the bounds in force (``c_min``, ``c_max``), in bytes. ``c_max`` is what the module applied,
    which is what counts when ``zfs_arc_max`` was set to a value the module refused."""

    size_bytes: int | None
    target_bytes: int | None
    min_bytes: int | None
    max_bytes: int | None
    fields: tuple[tuple[str, int], ...]

    @property
    def values(self) -> dict[str, int]:
        return dict(self.fields)


_KSTAT_ROW = re.compile(r"^([A-Za-z0-9_]+)\s+([0-9]+)\s+(-?[0-9]+)\s*$")


def parse_arcstats(text: str) -> ArcStats:
    """Rows are ``name type data`` under a kstat header line (type 4 is uint64, 3 int64);
    :class:`ParseError` when no row parses. Without the zfs module the file does not exist,
    which is the caller's case to handle, not this parser's."""
    if not isinstance(text, str):
        raise ParseError("arcstats", "expected text")
    fields: list[tuple[str, int]] = []
    for line in text.split("\n"):
        match = _KSTAT_ROW.match(line.strip())
        if match:
            fields.append((match.group(1), int(match.group(3))))
    if not fields:
        raise ParseError("/proc/spl/kstat/zfs/arcstats", "no 'name type data' rows")
    values = dict(fields)
    return ArcStats(
        size_bytes=values.get("size"),
        target_bytes=values.get("c"),
        min_bytes=values.get("c_min"),
        max_bytes=values.get("c_max"),
        fields=tuple(fields),
    )


@dataclass(frozen=True)
class ZfsArcMax:
    """``/sys/module/zfs/parameters/zfs_arc_max``. 0 means "the module's default", see
    :func:`default_arc_max_bytes`. A non-zero value is what was asked for; the module ignores
    one below 64 MiB or above RAM, so ``ArcStats.max_bytes`` is the limit in force."""

    value_bytes: int

    @property
    def is_default(self) -> bool:
        return self.value_bytes == 0


def parse_zfs_arc_max(text: str) -> ZfsArcMax:
    value = text.strip() if isinstance(text, str) else ""
    if not value.isascii() or not value.isdigit():
        raise ParseError("zfs_arc_max", f"expected a whole number of bytes, got {value[:40]!r}")
    return ZfsArcMax(int(value))


_MIB = 1 << 20
_GIB = 1 << 30


def default_arc_max_bytes(ram_bytes: int, openzfs_version: Sequence[int]) -> int:
    """The ARC maximum OpenZFS on Linux picks when ``zfs_arc_max`` is 0.

    ``arc_default_max(min, allmem)`` in ``module/os/linux/zfs/arc_os.c``:

    * before 2.3 (read at openzfs/zfs@93328ba149c65aa6b85db386d8123fe91847daab):
      ``return (MAX(allmem / 2, min));`` — "Default to 1/2 of all memory."
    * from 2.3 (read at openzfs/zfs@0cc65c4c412cbb5328bcdc0da902bda62d0be0da):
      ``size = allmem >= 1 GiB ? allmem - 1 GiB : min; return (MAX(allmem * 5 / 8, size));``
      — FreeBSD's rule, brought to Linux by "arc_default_max on Linux should match FreeBSD"
      (openzfs/zfs#15437, commit 6a629f3); openzfs-docs' module_parameters.yaml dates it
      "since v2.3.0" (quoted in a public write-up; that file was not read here).

    ``min`` is ``arc_c_min``: by zfs(4), the larger of 32 MiB and RAM/32 when ``zfs_arc_min``
    is 0. It only matters below 1 GiB of RAM. ``allmem`` is the kernel's total RAM pages
    (MemTotal), less highmem on 32-bit kernels."""
    if ram_bytes <= 0:
        raise ValueError("ram_bytes must be positive")
    minimum = max(ram_bytes // 32, 32 * _MIB)
    if tuple(openzfs_version[:2]) >= (2, 3):
        size = ram_bytes - _GIB if ram_bytes >= _GIB else minimum
        return max(ram_bytes * 5 // 8, size)
    return max(ram_bytes // 2, minimum)


# ------------------------------------------------------------------ Debian's periodic trim


@dataclass(frozen=True)
class CronJob:
    """One ``/etc/cron.d`` line (five time fields, a user, a command). ``enabled`` is False
    for a job line that was commented out with ``#``. ``weekday_test`` is N from the
    ``[ $(date +\\%w) -eq N ]`` guard Debian uses, because cron ORs day-of-month with
    day-of-week, so "first Sunday" has to be tested in the command."""

    line_number: int
    line: str
    enabled: bool
    minute: str
    hour: str
    day_of_month: str
    month: str
    day_of_week: str
    user: str
    command: str
    weekday_test: int | None

    @property
    def description(self) -> str:
        """``"00:24 on the first Sunday of the month"`` for Debian's trim line."""
        when = f"{self.minute} {self.hour}"
        if self.minute.isdigit() and self.hour.isdigit():
            when = f"{int(self.hour):02d}:{int(self.minute):02d}"
        days = re.match(r"^([0-9]+)-([0-9]+)$", self.day_of_month)
        if (
            days and self.weekday_test is not None and 0 <= self.weekday_test <= 7
            and int(days.group(2)) - int(days.group(1)) == 6 and int(days.group(1)) % 7 == 1
            and self.month == "*" and self.day_of_week == "*"
        ):
            nth = ("first", "second", "third", "fourth", "fifth")[(int(days.group(1)) - 1) // 7 % 5]
            return f"{when} on the {nth} {_WEEKDAYS[self.weekday_test % 7]} of the month"
        return f"{when}, day-of-month {self.day_of_month}, month {self.month}, day-of-week {self.day_of_week}"


_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_CRON_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$")
_CRON_FIELD = re.compile(r"^[0-9*/,-]+$|^[A-Za-z]{3}$")
_WEEKDAY_TEST = re.compile(r"\$\(date \+\\?%w\)\s+-eq\s+([0-9])")
TRIM_SCRIPT = "/usr/lib/zfs-linux/trim"
SCRUB_SCRIPT = "/usr/lib/zfs-linux/scrub"


@dataclass(frozen=True)
class ZfsutilsCron:
    """``/etc/cron.d/zfsutils-linux``: the trim and scrub jobs (the enabled one when both an
    enabled and a commented copy exist), None when the file has no such line at all."""

    trim: CronJob | None
    scrub: CronJob | None
    jobs: tuple[CronJob, ...]

    @property
    def trim_runs(self) -> bool:
        return self.trim is not None and self.trim.enabled


def _cron_job(number: int, line: str) -> CronJob | None:
    body = line.strip()
    enabled = True
    if body.startswith("#"):
        enabled = False
        body = body.lstrip("#").strip()
    match = _CRON_LINE.match(body)
    if not match or not all(_CRON_FIELD.match(match.group(i)) for i in range(1, 6)):
        return None
    test = _WEEKDAY_TEST.search(match.group(7))
    return CronJob(
        line_number=number,
        line=line,
        enabled=enabled,
        minute=match.group(1),
        hour=match.group(2),
        day_of_month=match.group(3),
        month=match.group(4),
        day_of_week=match.group(5),
        user=match.group(6),
        command=match.group(7),
        weekday_test=int(test.group(1)) if test else None,
    )


def parse_zfsutils_cron(text: str) -> ZfsutilsCron:
    """Read the cron file. Lines that are neither jobs nor commented-out jobs (comments,
    ``PATH=``, blank, garbage) are skipped, as cron skips what it cannot parse; a file with
    no trim line gives ``trim`` None (Debian packages before 2.0.3-9 had only the scrub)."""
    if not isinstance(text, str):
        raise ParseError("/etc/cron.d/zfsutils-linux", "expected text")
    jobs = []
    for number, line in enumerate(text.split("\n"), start=1):
        job = _cron_job(number, line.rstrip("\r"))
        if job is not None:
            jobs.append(job)

    def pick(script: str) -> CronJob | None:
        found = [job for job in jobs if script in job.command]
        enabled = [job for job in found if job.enabled]
        chosen = enabled or found
        return chosen[0] if chosen else None

    return ZfsutilsCron(trim=pick(TRIM_SCRIPT), scrub=pick(SCRUB_SCRIPT), jobs=tuple(jobs))


def debian_trim_script_kind(script_text: str) -> str | None:
    """Which ``/usr/lib/zfs-linux/trim`` is installed: ``"periodic-trim"`` (reads the
    property, NVMe-only by default; Debian 2.0.3-9 and later), ``"all-pools"`` (the first
    version, which trimmed every ONLINE pool), or None when the text is neither."""
    if PERIODIC_TRIM in script_text and "zpool trim" in script_text:
        return "periodic-trim"
    if "zpool trim" in script_text and "zpool list" in script_text:
        return "all-pools"
    return None


def nvme_only(transports: Iterable[str | None]) -> bool:
    """``pool_is_nvme_only``: true when every ``/dev/`` leaf's transport (lsblk ``TRAN`` of the
    top parent device) is exactly ``nvme``. Vacuously true when there are none, as the
    script's ``while read`` loop then returns 0: a pool of file vdevs counts as NVMe-only.
    The script lists leaves with ``zpool list -vHP``, so log, cache and spare devices count."""
    return all(transport == "nvme" for transport in transports)


@dataclass(frozen=True)
class TrimDecision:
    """Whether the monthly job trims the pool; None when a fact it needs is unknown."""

    trims: bool | None
    reason: str


@dataclass(frozen=True)
class PeriodicTrimInput:
    """The facts the script reads for one pool: the root dataset's
    ``org.debian:periodic-trim`` (None or ``-`` when unset), whether its leaves are all
    NVMe (None if not known) and ``zpool list -o health``."""

    periodic_trim: str | None
    nvme_only: bool | None
    health: str | None


def debian_trim_decision(value: str | None, *, nvme_only: bool | None, health: str | None) -> TrimDecision:
    """The decision of Debian's ``/usr/lib/zfs-linux/trim`` (pop-os/zfs-linux
    ``debian/tree/zfsutils-linux/usr/lib/zfs-linux/trim`` @08e30d23f42dec0c02f44f3cc2c92d8fe451e018,
    stored as ``tests/fixtures/zfs/debian-trim-script-pop-os-08e30d2.sh``) for one pool::

        zpool list -H -o health,name 2>&1 | awk -F'\\t' '$1 == "ONLINE" {print $2}' | ...
            ret=$(get_property "${pool}") || continue
            case "${ret}" in
                disable);;
                enable) trim_if_not_already_trimming "${pool}" ;;
                -|auto) pool_is_nvme_only "${pool}" && trim_if_not_already_trimming "${pool}" ;;
                *)      cat > /dev/stderr <<EOF ... illegal value ...

    ``get_property`` is ``zfs get -H -o value org.debian:periodic-trim POOL``: the pool's
    root *dataset*, which prints ``-`` when the property is unset; ``value`` None is taken as
    that. ``health`` is ``zpool list -o health`` (None when not known: then not trimmed, as
    the script's awk filter keeps only the literal ``ONLINE``). The match is exact and case-sensitive: ``Enable`` is an illegal value, warned about
    and not trimmed. A pool that is already trimming is left to finish, which still counts
    as trimmed here."""
    if health != "ONLINE":
        return TrimDecision(False, f"pool health is {health or 'unknown'}; the job trims ONLINE pools only")
    setting = "-" if value is None else value
    if setting == "disable":
        return TrimDecision(False, f"{PERIODIC_TRIM}=disable")
    if setting == "enable":
        return TrimDecision(True, f"{PERIODIC_TRIM}=enable")
    if setting in ("-", "auto"):
        shown = "unset (auto)" if setting == "-" else "auto"
        if nvme_only is None:
            return TrimDecision(None, f"{PERIODIC_TRIM} {shown}: trimmed only if every disk is NVMe, not known here")
        if nvme_only:
            return TrimDecision(True, f"{PERIODIC_TRIM} {shown} and every disk is NVMe")
        return TrimDecision(False, f"{PERIODIC_TRIM} {shown} and not every disk is NVMe: auto trims NVMe-only pools")
    return TrimDecision(False, f"{PERIODIC_TRIM}={setting!r} is not auto/enable/disable; the script warns and skips it")


def debian_periodic_trim_pools(
    pools: Mapping[str, PeriodicTrimInput],
    cron_text: str | None = None,
    script_text: str | None = None,
) -> dict[str, TrimDecision]:
    """Apply :func:`debian_trim_decision` to each pool, after the two things that stop the job
    as a whole: a cron file (when given) whose trim line is missing or commented out, and an
    installed script (when given) of the older kind that trims every ONLINE pool."""
    if cron_text is not None:
        cron = parse_zfsutils_cron(cron_text)
        if cron.trim is None:
            return {pool: TrimDecision(False, "no trim job in /etc/cron.d/zfsutils-linux") for pool in pools}
        if not cron.trim.enabled:
            reason = f"the trim job is commented out (line {cron.trim.line_number} of /etc/cron.d/zfsutils-linux)"
            return {pool: TrimDecision(False, reason) for pool in pools}
    kind = debian_trim_script_kind(script_text) if script_text is not None else "periodic-trim"
    result: dict[str, TrimDecision] = {}
    for pool, facts in pools.items():
        if kind == "all-pools":
            online = facts.health == "ONLINE"
            reason = "the installed trim script trims every ONLINE pool" if online else (
                f"pool health is {facts.health or 'unknown'}; the job trims ONLINE pools only"
            )
            result[pool] = TrimDecision(online, reason)
        elif kind is None:
            result[pool] = TrimDecision(None, f"{TRIM_SCRIPT} is not a script this parser knows")
        else:
            result[pool] = debian_trim_decision(facts.periodic_trim, nvme_only=facts.nvme_only, health=facts.health)
    return result
