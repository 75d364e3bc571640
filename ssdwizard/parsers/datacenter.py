"""/etc/pve/datacenter.cfg as a document of lines, with the migration settings read on top.

The migration step reads the cluster's migration settings from here and its plan writes the
advice back (``migration: type=insecure,network=CIDR`` instead of the deprecated
``migration_unsecure: 1``). The file lives in the cluster filesystem and admins edit it by
hand, so, as for fstab, every line is kept **as it was** and an edit changes only the lines
it means to: ``render(parse(text)) == text`` for any text, byte for byte.

The syntax is what Proxmox reads. Sources, read for issue 13:

* pve-common ``src/PVE/JSONSchema.pm`` (github.com/proxmox/pve-common, ``parse_config``,
  ``parse_property_string``, ``check_prop``, ``pve_verify_cidrv4``/``cidrv6``);
* pve-cluster ``src/PVE/DataCenterConfig.pm`` (github.com/proxmox/pve-cluster,
  ``$migration_format`` and ``parse_datacenter_config``).

The rules:

* Each line is stripped of surrounding blanks; an empty line is skipped, a line starting with
  ``#`` is a comment (Proxmox keeps the ``description`` there, which is why files written by
  the GUI begin with an empty line: the empty description comes first). ``#`` is a comment
  **only** at the start of a line: ``migration: type=insecure # fast`` has the value
  ``type=insecure # fast``.
* Every other line is ``key: value``: the key runs up to the first colon and has no blanks,
  blanks after the colon are skipped. A later line with the same key wins. Anything else is
  ignored by Proxmox with a warning; here it is an :class:`UnparsedLine`.
* ``migration`` is a property string with the keys ``type`` (``secure`` | ``insecure``,
  default ``secure``; it is the schema's *default key*, so ``migration: insecure`` is the same
  as ``migration: type=insecure``) and ``network`` (a CIDR, prefix 8 to 32 or 8 to 128). The
  string is split on commas; a part of blanks only is skipped, any other part is taken as it
  is: ``type=insecure, network=...`` has the key `` network`` (with the blank), which the
  schema does not know. ``type`` is not optional in the schema (``default`` does not make it
  so): ``migration: network=10.1.2.0/24`` fails with "property is missing".
* A value the schema rejects is **dropped whole**: ``parse_config`` checks every key, warns
  ``parse error in 'datacenter.cfg' - 'migration': ...`` and deletes the key. Migration then
  runs as if the line were not there: Proxmox's default, type ``secure`` over the cluster
  network (the ssh tunnel), unless the deprecated key fills in (next point).
* ``migration_unsecure`` is a boolean, deprecated since PVE 4.3 when ``migration`` replaced
  it. Proxmox only honours it when the (accepted) ``migration`` sets no ``type``; with both, it
  warns and ignores the old key. As ``type`` is required, an accepted ``migration`` line
  always wins, and a rejected one leaves the old key in charge.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Union

from ssdwizard.parsers.lines import Line, split_lines

__all__ = [
    "BlankLine",
    "CommentLine",
    "DatacenterConfig",
    "DatacenterLine",
    "MigrationSettings",
    "PropertyLine",
    "UnparsedLine",
    "format_migration",
    "parse",
    "parse_boolean",
    "parse_migration",
    "render",
]

MIGRATION_TYPES = ("secure", "insecure")
DEFAULT_MIGRATION_TYPE = "secure"
LEGACY_KEY = "migration_unsecure"
LEGACY_SINCE = "PVE 4.3"

# PVE::JSONSchema::parse_config: m/^(\S+?):\s*(.*)$/ on the stripped line.
_PROPERTY = re.compile(r"(\S+?):\s*(.*)", re.DOTALL)
# Perl's \s on the ends of a line: space, tab, CR, VT, FF (Proxmox strips them all).
_BLANKS = " \t\r\v\f"


_Line = Line  # text, ending, number and raw: shared with the other line-keeping parsers


@dataclass(frozen=True)
class BlankLine(_Line):
    """An empty line or one of blanks only."""


@dataclass(frozen=True)
class CommentLine(_Line):
    """A ``#`` line: part of the datacenter description that the GUI shows as notes."""


@dataclass(frozen=True)
class UnparsedLine(_Line):
    """A line Proxmox ignores ("ignore config line"); kept verbatim, ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class PropertyLine(_Line):
    """A ``key: value`` line. ``value`` has the blanks around it removed, as Proxmox does."""

    key: str
    value: str


DatacenterLine = Union[BlankLine, CommentLine, UnparsedLine, PropertyLine]


def parse_boolean(value: str) -> bool | None:
    """A JSONSchema boolean as Proxmox reads it: 1/on/yes/true, 0/off/no/false (any case)."""
    lowered = value.strip(_BLANKS).lower()
    if lowered in ("1", "on", "yes", "true"):
        return True
    if lowered in ("0", "off", "no", "false"):
        return False
    return None


@dataclass(frozen=True)
class MigrationSettings:
    """The ``migration`` property string as written: what the admin evidently meant, and what
    Proxmox objects to.

    ``type`` and ``network`` are the lenient reading (blanks and a trailing remark taken
    off), ``None`` when the string does not set them: they are what the admin meant, **not**
    what Proxmox uses. ``problems`` lists every reason the schema rejects the value (an unknown
    key, a blank after a comma, a remark, a missing type ...); with any, pve-cluster drops the
    whole line and :attr:`rejected` says why. Use :attr:`DatacenterConfig.migration_type` and
    :attr:`DatacenterConfig.migration_network` for the settings in effect.
    """

    raw: str
    type: str | None
    network: str | None
    problems: tuple[str, ...] = ()

    @property
    def rejected(self) -> str | None:
        """Why pve-cluster drops this value (in words), or ``None`` when it accepts it."""
        return "; ".join(self.problems) or None


def _property_parts(value: str) -> Iterator[tuple[str, str, str, str]]:
    """pve-common ``parse_property_string``'s split: on commas, parts of blanks only skipped,
    each as (part, key, "=" or "", value), blanks kept (Proxmox keeps them too)."""
    for part in value.split(","):
        if part.strip(_BLANKS):
            yield (part, *part.partition("="))


def parse_migration(value: str) -> MigrationSettings:
    """Read a ``migration`` value: ``type=insecure,network=10.0.0.0/24`` or ``insecure,...``.

    Follows pve-common ``parse_property_string``: split on commas, skip parts of blanks only,
    ``k=v`` pairs taken as they are (blanks included), a part without ``=`` is the default key
    (``type``); then the schema: ``type`` required and secure/insecure, ``network`` a CIDR,
    no other key. Never raises: what Proxmox would reject goes to ``problems``.
    """
    problems: list[str] = []
    text = value
    if "#" in value:
        text = value[: value.index("#")].rstrip(_BLANKS)
        problems.append(f"a remark {value[value.index('#'):]!r} on the line: '#' starts a comment only at the "
                        "start of a line, so Proxmox reads it as part of the value")
    found: dict[str, str] = {}
    for part, key, sep, item in _property_parts(text):
        if not sep:
            key, item = "type", part
        elif not key.strip(_BLANKS):
            problems.append(f"missing key before '=' in {part!r}")
            continue
        name = key.strip(_BLANKS)
        if name != key:
            problems.append(
                f"blank around the key {key!r}: Proxmox reads the key with the blank and rejects it"
            )
        if name not in ("type", "network"):
            problems.append(f"unknown key {name!r} (the schema knows type and network)")
            continue
        if name in found:
            problems.append(f"duplicate key {name!r}")
            continue
        meant = item.strip(_BLANKS)
        if meant != item and meant:
            problems.append(f"blank around the value {item!r}: Proxmox reads the value with the blank")
        found[name] = meant
    kind = found.get("type")
    if kind is None:
        problems.append("no type: the schema requires one (type=secure or type=insecure)")
    elif kind not in MIGRATION_TYPES:
        problems.append(f"type {kind!r} is neither secure nor insecure")
    network = found.get("network")
    if network is not None and not _is_cidr(network):
        problems.append(f"network {network!r} is not a CIDR (like 10.1.2.0/24)")
    return MigrationSettings(raw=value, type=kind, network=network, problems=tuple(problems))


def format_migration(kind: str, network: str | None = None) -> str:
    """The property string the wizard writes: ``type=insecure,network=10.1.2.0/24``.

    The explicit ``type=`` form is what the Proxmox documentation shows and what every
    version since 4.3 reads. Raises ``ValueError`` for a type or network Proxmox would reject.
    """
    if kind not in MIGRATION_TYPES:
        raise ValueError(f"migration type must be secure or insecure, got {kind!r}")
    if network is None:
        return f"type={kind}"
    if not _is_cidr(network) or any(ch in network for ch in ", \t"):
        raise ValueError(f"migration network must be a CIDR like 10.1.2.0/24, got {network!r}")
    return f"type={kind},network={network}"


#: The operations of the ``bwlimit`` property (pve-common JSONSchema ``$bwlimit_format``).
BWLIMIT_KEYS = ("default", "restore", "migration", "clone", "move")


@dataclass(frozen=True)
class Bwlimit:
    """The ``bwlimit`` property string: a limit in KiB/s per operation (pve-common's schema:
    ``default``, ``restore``, ``migration``, ``clone``, ``move``, each a number of at least 0;
    Proxmox's API documents them as KiB/s). ``problems`` is what the schema rejects; with any,
    pve-cluster drops the whole line, as for ``migration``."""

    limits: dict[str, float]
    problems: tuple[str, ...] = ()

    def limit_for(self, operation: str) -> float | None:
        """The limit an operation gets from this line: its own, else ``default`` (pve-storage
        ``get_bandwidth_limit``: ``$limits->{$operation} // $limits->{default}``)."""
        if self.problems:
            return None
        value = self.limits.get(operation)
        return value if value is not None else self.limits.get("default")


def parse_bwlimit(value: str) -> Bwlimit:
    """Read ``migration=500000,default=100000``. Never raises."""
    limits: dict[str, float] = {}
    problems: list[str] = []
    for part, key, sep, item in _property_parts(value):
        if not sep:
            problems.append(f"{part!r} has no key (bwlimit has no default key)")
            continue
        if key not in BWLIMIT_KEYS:
            problems.append(f"unknown key {key!r}")
            continue
        if key in limits:
            problems.append(f"duplicate key {key!r}")
            continue
        try:
            number = float(item)
        except ValueError:
            problems.append(f"{key}={item!r} is not a number")
            continue
        if not number >= 0 or number == float("inf"):
            problems.append(f"{key}={item!r} is not a limit of 0 or more")
            continue
        limits[key] = number
    return Bwlimit(limits, tuple(problems))


def _is_cidr(text: str) -> bool:
    """pve-common's CIDR format: an address, ``/`` and a prefix of 8 to 32 (IPv6: 8 to 128);
    host bits may be set (10.1.2.3/24)."""
    address, slash, prefix = text.partition("/")
    if not slash or not prefix.isascii() or not prefix.isdigit():
        return False
    try:
        network = ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False)
    except ValueError:
        return False
    return 8 <= network.prefixlen <= network.max_prefixlen


@dataclass(frozen=True)
class DatacenterConfig:
    """The whole file: every line in order; :meth:`render` gives back the exact text."""

    lines: tuple[DatacenterLine, ...]

    def render(self) -> str:
        """The file's text, byte for byte as parsed."""
        return "".join(line.raw for line in self.lines)

    @property
    def properties(self) -> tuple[PropertyLine, ...]:
        """The ``key: value`` lines in file order (a key may occur twice; the last one counts)."""
        return tuple(line for line in self.lines if isinstance(line, PropertyLine))

    @property
    def unparsed(self) -> tuple[UnparsedLine, ...]:
        """Lines Proxmox ignores with a warning; a step can show them."""
        return tuple(line for line in self.lines if isinstance(line, UnparsedLine))

    def get(self, key: str) -> PropertyLine | None:
        """The line that sets ``key`` as Proxmox sees it (the last one), or ``None``."""
        found = None
        for line in self.properties:
            if line.key == key:
                found = line
        return found

    def values(self) -> dict[str, str]:
        """Every key with its effective value, as Proxmox's config hash has them."""
        return {line.key: line.value for line in self.properties}

    @property
    def migration(self) -> MigrationSettings | None:
        """The ``migration`` property as written (accepted or not), or ``None`` without one."""
        line = self.get("migration")
        return parse_migration(line.value) if line else None

    @property
    def effective_migration(self) -> MigrationSettings | None:
        """The ``migration`` property as Proxmox uses it: ``None`` when absent or rejected
        (pve-cluster drops a value its schema rejects, see the module notes)."""
        migration = self.migration
        return migration if migration is not None and migration.rejected is None else None

    @property
    def legacy_unsecure(self) -> bool | None:
        """The deprecated ``migration_unsecure`` value: ``None`` when absent (or not a boolean)."""
        line = self.get(LEGACY_KEY)
        return parse_boolean(line.value) if line else None

    @property
    def legacy_ignored(self) -> bool:
        """Both keys are set and ``migration`` (accepted) sets a type, so Proxmox ignores the old key."""
        migration = self.effective_migration
        return self.get(LEGACY_KEY) is not None and migration is not None and migration.type is not None

    @property
    def migration_type(self) -> str:
        """The type Proxmox uses: ``migration``'s type, else the old key, else ``secure``.

        This is pve-cluster's rule: the new property wins when it sets a type; the deprecated
        boolean only fills in when it does not (or when the property was rejected and dropped);
        the schema default is ``secure``.
        """
        migration = self.effective_migration
        if migration is not None and migration.type in MIGRATION_TYPES:
            return migration.type
        legacy = self.legacy_unsecure
        if legacy is not None:
            return "insecure" if legacy else "secure"
        return DEFAULT_MIGRATION_TYPE

    @property
    def migration_network(self) -> str | None:
        """The migration CIDR, or ``None``: then Proxmox migrates over the cluster network
        (also when the ``migration`` line is rejected)."""
        migration = self.effective_migration
        return migration.network if migration is not None else None

    @property
    def bwlimit(self) -> Bwlimit | None:
        """The ``bwlimit`` property, or ``None`` without one."""
        line = self.get("bwlimit")
        return parse_bwlimit(line.value) if line else None

    @property
    def migration_bwlimit_kib_s(self) -> float | None:
        """The limit migrations get from datacenter.cfg in KiB/s (``migration``, else
        ``default``), ``None`` without one or when Proxmox drops the line. 0 means no limit."""
        limits = self.bwlimit
        return limits.limit_for("migration") if limits is not None else None

    def with_migration(self, kind: str, network: str | None) -> str:
        """The file's new text with ``migration`` set and ``migration_unsecure`` removed.

        Only those lines change: the effective ``migration`` line gets the new value (its
        key, colon and spacing kept); without one, the first ``migration_unsecure`` line is
        replaced by it, else it is appended at the end. Every ``migration_unsecure`` line
        goes. Pass ``network=self.migration_network`` to keep the current network.
        """
        value = format_migration(kind, network)
        target = self.get("migration")
        ending = self._ending()
        pieces: list[str] = []
        placed = False
        for line in self.lines:
            if target is not None and line is target:
                pieces.append(_replace_value(target, value))
                placed = True
            elif isinstance(line, PropertyLine) and line.key == LEGACY_KEY:
                if target is None and not placed:
                    pieces.append(f"migration: {value}{line.ending or ending}")
                    placed = True
            else:
                pieces.append(line.raw)
        if not placed:
            if pieces and not pieces[-1].endswith("\n"):
                pieces[-1] += ending
            pieces.append(f"migration: {value}{ending}")
        return "".join(pieces)

    def _ending(self) -> str:
        """The file's own line ending, so an added line matches (CRLF files stay CRLF)."""
        endings = [line.ending for line in self.lines if line.ending]
        return "\r\n" if endings and endings.count("\r\n") * 2 > len(endings) else "\n"


def _replace_value(line: PropertyLine, value: str) -> str:
    """The line with its value swapped; the indentation, key, colon and blanks stay."""
    start = line.text.index(":", len(line.text) - len(line.text.lstrip(_BLANKS))) + 1
    rest = line.text[start:]
    gap = rest[: len(rest) - len(rest.lstrip(_BLANKS))] or " "
    trailing = rest[len(rest.rstrip(_BLANKS)) :] if rest.strip(_BLANKS) else ""
    return line.text[:start] + gap + value + trailing + line.ending


_split_lines = split_lines


def _parse_line(number: int, text: str, ending: str) -> DatacenterLine:
    stripped = text.strip(_BLANKS)
    if not stripped:
        return BlankLine(number, text, ending)
    if stripped.startswith("#"):
        return CommentLine(number, text, ending)
    match = _PROPERTY.fullmatch(stripped)
    if match is None:
        return UnparsedLine(number, text, ending, "not 'key: value' (Proxmox ignores this line)")
    return PropertyLine(number, text, ending, key=match.group(1), value=match.group(2).strip(_BLANKS))


def parse(text: str) -> DatacenterConfig:
    """Parse datacenter.cfg text into a document of lines. Never fails: every text is some file.

    Lines Proxmox would ignore are kept as :class:`UnparsedLine`, because the wizard must be
    able to change the migration line of a file that has a broken line elsewhere.
    """
    return DatacenterConfig(
        tuple(
            _parse_line(number, line_text, ending)
            for number, (line_text, ending) in enumerate(_split_lines(text), start=1)
        )
    )


def render(document: DatacenterConfig) -> str:
    """The text of a parsed file; ``render(parse(text)) == text`` always holds."""
    return document.render()
