"""ceph.conf as a document of lines, read the way Ceph reads it, editable one line at a time.

The ceph step reports which ``rbd cache`` settings a VM's librbd really uses and the apply layer
writes a changed value back into the admin's own ``/etc/pve/ceph.conf``. Both need Ceph's own
reading of the file, and the edit must keep every other byte, so this module keeps **every line as
it was** (``render(parse(text)) == text`` for any text) and parses settings on top of it.

The rules follow Ceph's parser, ``src/common/ConfUtils.cc`` (the Boost.Spirit grammar used since
Octopus; ceph/ceph @02b290cc03a18f024b5f01657377606922db419f, ``IniGrammer`` and
``ConfFile::parse_buffer``) and ``md_config_t`` in ``src/common/config.cc``:

* ``[name]`` starts a section. The name is taken verbatim up to the first unescaped ``]``, blanks
  included (``[ global ]`` is the section ``" global "``, not ``global``: accepted, but nothing
  reads it). The ``[`` must be in the first column; Ceph rejects an indented header.
* ``key = value``: the key is the text before the first unescaped ``=``; Ceph normalises it by
  trimming it and turning every run of whitespace into one underscore (``rbd   cache size`` ->
  ``rbd_cache_size``). Dashes are **not** normalised in a file: Ceph looks options up by their
  underscore names, so ``rbd-cache-size = 64M`` in ceph.conf sets nothing (dashes only work on
  the command line and in ``ceph config set``). :attr:`Setting.option` gives the name such a
  line was meant to set, so a step can say so.
* ``#`` and ``;`` start a comment anywhere outside an escape, also after a value; a backslash
  escapes the next character (``\\#`` is a literal ``#``); a backslash at the end of a line joins
  the next line. A value may be quoted with ``"`` or ``'``; quoted or not it is trimmed.
* Within a section the last occurrence of a key wins; a section that appears twice is merged.
* A client reads ``[client.NAME]``, then ``[client]``, then ``[global]`` and takes the key from the
  **first section that has it**. If that value does not parse (``rbd_cache_size = 64 MB``), Ceph
  warns and the option keeps its default: a valid value in a lower section does not step in.

**A file Ceph refuses.** ``parse_buffer`` fails for the whole file, and ``parse_config_files``
(config.cc) then returns ``-EINVAL`` before it takes a single value from it: none of the file
applies (a client that goes on, such as QEMU without ``conf=``, runs on the defaults). Since
Octopus that happens for, in the order Ceph checks:

* bytes that are not UTF-8 (``check_utf8`` in ``src/common/utf8.c`` @1253386e, run on the whole
  buffer before the grammar; it also refuses U+FFFE, U+FFFF and encoded surrogates). The wizard's
  door gives text with undecodable bytes as U+FFFD, so a U+FFFD (or a lone surrogate, from a
  ``surrogateescape`` decode) is taken for such bytes; a genuine, validly encoded U+FFFD, which
  Ceph accepts, is the one case read wrongly;
* a setting or header whose line has no final newline: ``key_val`` and ``heading`` end in
  ``> +empty_line``, and ``empty_line`` needs ``eol`` (a last comment line needs none: the
  skipper eats it before ``eoi``). Ceph's own ``trivial_conf_2`` (``"log dir = foobar"``) is
  refused in src/test/confutils.cc @09f06809;
* a line that is not a header, a ``key = value``, a comment or blanks: no ``=``
  (``illegal_conf3``), ``[`` in a key, an unterminated quote (``illegal_conf4``), a header without
  ``]`` (``illegal_conf2``), text after a closing quote or after ``]`` (``> +empty_line`` again),
  an indented header (nothing before ``[``: the skipper skips comments and ``\\`` + newline, not
  blanks);
* before the first header, anything but comments and empty lines: a line of blanks there (the
  grammar starts with ``*eol``, which takes bare line ends only), or a setting, unless the file is
  exactly one setting that starts on line 1 (``conf_file``'s first alternative, ``key_val > eoi``;
  it is filed under ``[global]``).

Such lines are kept here as they are and listed in :attr:`CephConf.problems`;
:attr:`CephConf.refusal` is the one Ceph reports.

Only ``\\n`` ends a line here (a ``\\r`` before it is part of the line ending). Ceph's grammar also
treats a lone ``\\r`` as a line end; such a file is kept byte for byte but read as fewer lines.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Mapping, Union

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.lines import Line, split_lines

__all__ = [
    "BlankLine",
    "CephConf",
    "CephConfLine",
    "CommentLine",
    "EffectiveOption",
    "InvalidLine",
    "RBD_CACHE_OPTIONS",
    "SectionHeader",
    "Setting",
    "effective",
    "ignored_settings",
    "normalise_key",
    "parse",
    "parse_bool",
    "parse_float",
    "parse_size",
    "parse_uint",
    "parse_value",
    "render",
    "set_value",
]

SOURCE = "ceph.conf"

# The librbd cache options and their types, from ceph src/common/options/rbd.yaml.in. The
# type decides which of Ceph's strict parsers reads the value (Option::parse_value). Defaults
# and recommended values are advice, so they live in the data tables, not here.
RBD_CACHE_OPTIONS: Mapping[str, str] = {
    "rbd_cache": "bool",
    "rbd_cache_policy": "str",
    "rbd_cache_writethrough_until_flush": "bool",
    "rbd_cache_size": "size",
    "rbd_cache_max_dirty": "size",
    "rbd_cache_target_dirty": "size",
    "rbd_cache_max_dirty_age": "float",
    "rbd_cache_max_dirty_object": "uint",
    "rbd_cache_block_writes_upfront": "bool",
}
# enum_values of rbd_cache_policy in rbd.yaml.in; Option::validate rejects anything else.
_ENUMS: Mapping[str, tuple[str, ...]] = {
    "rbd_cache_policy": ("writethrough", "writeback", "writearound"),
}

_BLANKS = " \t"
_COMMENT = "#;"
# C isspace() in the "C" locale: what boost's trim and trim_fill treat as whitespace.
_SPACE = " \t\n\v\f\r"
_WHITESPACE_RUN = re.compile(r"[ \t\n\v\f\r]+")
_LLONG_MAX = 2**63 - 1
_PREAMBLE = ("a setting before the first [section]; Ceph accepts that only as the one setting of a file, "
             "on its first line")
_BLANKS_FIRST = "a line of blanks before the first [section]; Ceph rejects the file (an empty line is fine there)"
# What the door's decoding leaves for bytes that are not UTF-8 (U+FFFD from errors="replace", lone
# surrogates from "surrogateescape"), and the two noncharacters Ceph's check_utf8 refuses as well.
_NOT_UTF8 = re.compile("[\ufffd\ufffe\uffff\ud800-\udfff]")
_ULLONG_MAX = 2**64 - 1


# --------------------------------------------------------------------------- values


def _strict_strtoll(text: str, original: str) -> int:
    """strtoll(base 10) that must consume the whole string, as Ceph's strict_strtoll."""
    match = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    if not match:
        raise ParseError(SOURCE, f"expected an integer, got {original!r}")
    value = int(match.group(1))
    if not -_LLONG_MAX - 1 <= value <= _LLONG_MAX:
        raise ParseError(SOURCE, f"the value {original!r} is out of range")
    return value


_IEC_SHIFT = {"K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60, "B": 0}


def parse_size(text: str) -> int:
    """A size in bytes by Ceph's ``strict_iecstrtoll`` (options of type ``size``).

    ``67108864``, ``64M``, ``64Mi``, ``64MB`` and ``64MiB`` are all 64 MiB: Ceph treats the old
    SI letters as binary too. Only upper-case ``K M G T P E`` (and ``B``) are units; ``64m``,
    ``64 MB`` (a blank), ``1.5G`` and negative values are errors, and Ceph then ignores the line.
    """
    if not text:
        raise ParseError(SOURCE, "size value not specified")
    cut = next((i for i, ch in enumerate(text) if ch not in "0123456789-+"), None)
    number, shift = text, 0
    if cut is not None:
        number, unit = text[:cut], text[cut:]
        if len(unit) > 1 and unit.endswith("B"):
            unit = unit[:-1]
        if len(unit) > 2:
            raise ParseError(SOURCE, f"size {text!r}: illegal unit (longer than two letters)")
        if not (unit.endswith("i") or len(unit) == 1):
            raise ParseError(SOURCE, f"size {text!r}: illegal unit {unit!r}")
        if unit.endswith("i") and unit[0] == "B":
            raise ParseError(SOURCE, f"size {text!r}: illegal unit 'Bi'")
        if unit[0] not in _IEC_SHIFT:
            raise ParseError(SOURCE, f"size {text!r}: unit {unit!r} not recognised (K, M, G, T, P, E)")
        shift = _IEC_SHIFT[unit[0]]
    value = _strict_strtoll(number, text)
    if value < 0:
        raise ParseError(SOURCE, f"size {text!r} must not be negative")
    if value > _ULLONG_MAX >> shift:
        raise ParseError(SOURCE, f"size {text!r} is too large")
    return value << shift


_SI_POWER = {"K": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_uint(text: str) -> int:
    """An unsigned integer by Ceph's ``strict_si_cast`` (options of type ``uint``): ``5K`` = 5000."""
    if not text:
        raise ParseError(SOURCE, "value not specified")
    number, power = text, 0
    if any(ch not in "0123456789+-" for ch in text):
        last = text[-1]
        if last in _SI_POWER:
            power, number = _SI_POWER[last], text[:-1]
        elif last != "B":
            raise ParseError(SOURCE, f"{text!r}: unit prefix not recognised")
    value = _strict_strtoll(number, text)
    if value < 0:
        raise ParseError(SOURCE, f"{text!r} must not be negative")
    if value > _ULLONG_MAX // 10**power:
        raise ParseError(SOURCE, f"{text!r} is out of range")
    return value * 10**power


def parse_bool(text: str) -> bool:
    """A boolean by Ceph's ``strict_strtob``: ``true``/``false`` in any case, or an integer.

    Any integer other than 0 is true. ``yes``, ``no``, ``on`` and ``off`` are **not** booleans to
    Ceph: the line is rejected with a warning and the option keeps its default.
    """
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    value = _strict_strtoll(text, text)
    if not -(2**31) <= value <= 2**31 - 1:
        raise ParseError(SOURCE, f"the value {text!r} is out of range for a boolean")
    return value != 0


_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


def parse_float(text: str) -> float:
    """A number by Ceph's ``strict_strtod`` (options of type ``float``, such as ``max dirty age``).

    Seconds are plain numbers: ``2`` and ``2.5`` are fine, ``2s`` is rejected. (strtod's hex
    floats are not accepted here; nobody writes a cache age that way.)
    """
    if not _FLOAT.fullmatch(text):
        raise ParseError(SOURCE, f"expected a number, got {text!r}")
    value = float(text.strip(_SPACE))
    if math.isinf(value) and "inf" not in text.lower():
        raise ParseError(SOURCE, f"{text!r} overflows a double")
    return value


def parse_value(option: str, text: str) -> bool | int | float | str:
    """A value as the named option's type reads it; unknown options come back as the string."""
    kind = RBD_CACHE_OPTIONS.get(option, "str")
    if kind == "bool":
        return parse_bool(text)
    if kind == "size":
        return parse_size(text)
    if kind == "uint":
        return parse_uint(text)
    if kind == "float":
        return parse_float(text)
    allowed = _ENUMS.get(option)
    if allowed is not None and text not in allowed:
        raise ParseError(SOURCE, f"{option} must be one of {', '.join(allowed)}, got {text!r}")
    return text


def normalise_key(key: str) -> str:
    """Ceph's ConfFile::normalize_key_name: trimmed, each run of whitespace one underscore."""
    return _WHITESPACE_RUN.sub("_", key.strip(_SPACE))


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line(Line):
    """Text and line ending of one entry; ``raw`` is exactly what the file held.

    ``number`` is the 1-based line number where the entry starts. A setting continued with a
    trailing backslash spans several physical lines: its ``text`` then contains the inner line
    breaks and ``ending`` is the ending of its last line.
    """

    @property
    def last_number(self) -> int:
        """Line number of the entry's last physical line."""
        return self.number + self.text.count("\n")


@dataclass(frozen=True)
class BlankLine(_Line):
    """Empty, or blanks only."""


@dataclass(frozen=True)
class CommentLine(_Line):
    """A line whose first non-blank character is ``#`` or ``;``."""


@dataclass(frozen=True)
class InvalidLine(_Line):
    """A line Ceph cannot read (and for which it rejects the whole file); kept verbatim."""

    reason: str
    section: str | None


@dataclass(frozen=True)
class SectionHeader(_Line):
    """``[name]``; ``problem`` says why Ceph would reject the line, if it would; ``note`` what Ceph
    accepts but probably was not meant (blanks inside the brackets)."""

    name: str
    problem: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Setting(_Line):
    """One ``key = value`` entry.

    ``key`` is Ceph's normal form (whitespace -> underscore), the name Ceph looks up; ``option``
    also maps dashes to underscores: the option the admin meant. When they differ, Ceph ignores
    the line. ``value`` is unquoted, unescaped and trimmed, as Ceph stores it. ``section`` is
    ``None`` before the first header. ``value_span`` locates the value as written (quotes
    included) in ``text`` so that an edit can replace just that.
    """

    section: str | None
    raw_key: str
    key: str
    option: str
    value: str
    quote: str
    value_span: tuple[int, int]
    problem: str | None = None

    @property
    def ignored_spelling(self) -> bool:
        """True when the key uses dashes: Ceph does not recognise it in a file."""
        return self.key != self.option

    def with_value(self, value: str) -> str:
        """This entry with its value replaced, key spelling, spacing and comment kept."""
        _check_new_value(value)
        start, end = self.value_span
        new = f"{self.quote}{value}{self.quote}"
        if "\n" in self.text:
            # A continued entry: write it as one line; Ceph joins it to the same thing.
            logical = _join_continuations(self.text)
            return logical[:start] + new + logical[end:] + self.ending
        return self.text[:start] + new + self.text[end:] + self.ending


CephConfLine = Union[BlankLine, CommentLine, InvalidLine, SectionHeader, Setting]


@dataclass(frozen=True)
class EffectiveOption:
    """The value one option has for a client, and where it came from.

    ``setting`` is the line that decides (``None``: the file does not set it, Ceph's default or
    the monitor database applies). ``value`` is the parsed value, or ``None`` when the deciding
    line does not parse; ``error`` then says why, and Ceph uses the default.
    """

    option: str
    setting: Setting | None
    value: bool | int | float | str | None
    error: str | None

    @property
    def section(self) -> str | None:
        return self.setting.section if self.setting else None

    @property
    def line(self) -> int | None:
        return self.setting.number if self.setting else None

    @property
    def raw(self) -> str | None:
        """The value as written in the file (unquoted), ``None`` when not set."""
        return self.setting.value if self.setting else None


@dataclass(frozen=True)
class CephConf:
    """The whole file, every line in order; ``render()`` gives back the exact text."""

    lines: tuple[CephConfLine, ...]

    def render(self) -> str:
        return "".join(line.raw for line in self.lines)

    @property
    def settings(self) -> tuple[Setting, ...]:
        return tuple(line for line in self.lines if isinstance(line, Setting))

    @property
    def sections(self) -> tuple[str, ...]:
        """Section names in order of first appearance (a repeated section once)."""
        return tuple(dict.fromkeys(line.name for line in self.lines if isinstance(line, SectionHeader)))

    @cached_property
    def problems(self) -> tuple[tuple[int, str], ...]:
        """(line number, message) for everything that makes Ceph reject the file, in the order Ceph
        checks: the UTF-8 check of the whole text first, then the grammar, line by line. Worked
        out once (it renders and scans the whole file; the step asks several times)."""
        found: list[tuple[int, str]] = []
        encoding = _utf8_problem(self.render())
        if encoding is not None:
            found.append(encoding)
        for line in self.lines:
            if isinstance(line, InvalidLine):
                found.append((line.number, line.reason))
            elif isinstance(line, (SectionHeader, Setting)) and line.problem:
                found.append((line.number, line.problem))
        if self.lines:
            last = self.lines[-1]
            if last.ending == "" and (
                isinstance(last, (Setting, SectionHeader)) or (isinstance(last, BlankLine) and last.text)
            ):
                found.append((last.last_number, "the file does not end with a newline; Ceph rejects it"))
        return tuple(found)

    @property
    def refusal(self) -> tuple[int, str] | None:
        """(line number, reason) of the error Ceph's parser stops at, or None when Ceph reads the
        file. A refused file applies none of its values (see the module docstring)."""
        problems = self.problems
        return problems[0] if problems else None

    @property
    def notes(self) -> tuple[tuple[int, str], ...]:
        """(line number, message) for what Ceph accepts but probably was not meant."""
        return tuple((line.number, line.note) for line in self.lines
                     if isinstance(line, SectionHeader) and line.note)

    def section_settings(self, section: str) -> tuple[Setting, ...]:
        """Every setting of a section in file order (a repeated section's parts merged)."""
        return tuple(s for s in self.settings if s.section == section)

    def get(self, section: str, key: str) -> Setting | None:
        """The setting Ceph uses for ``key`` in ``section``: the last one, by Ceph's key."""
        wanted = normalise_key(key)
        found = None
        for setting in self.section_settings(section):
            if setting.key == wanted:
                found = setting
        if found is None and section == "global" and wanted:
            found = self._lone_setting(wanted)
        return found

    def _lone_setting(self, key: str) -> Setting | None:
        # ConfUtils' grammar accepts one key=value with no header at all and files it under
        # [global]; with anything more in the file a key before the first header is an error.
        if self.sections or len(self.settings) != 1:
            return None
        only = self.settings[0]
        return only if only.key == key and only.problem is None else None

    def with_value(self, section: str, key: str, value: str) -> str:
        """The file's new text with one key set in one section (see :func:`set_value`)."""
        return set_value(self, section, key, value)


# --------------------------------------------------------------------------- parsing


_split_lines = split_lines


def _continues(text: str) -> bool:
    """Whether a line ends in an unescaped backslash outside a comment (it joins the next)."""
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\":
            if index == len(text) - 1:
                return True
            index += 2
            continue
        if ch in _COMMENT:
            return False
        index += 1
    return False


def _join_continuations(text: str) -> str:
    """The logical line Ceph sees: every backslash-newline (CRLF too) removed."""
    return re.sub(r"\\\r?\n", "", text)


def _find_unescaped(text: str, targets: str, start: int = 0) -> int:
    index = start
    while index < len(text):
        ch = text[index]
        if ch == "\\":
            index += 2
            continue
        if ch in targets:
            return index
        index += 1
    return -1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _parse_header(number: int, text: str, ending: str) -> CephConfLine:
    stripped = text.lstrip(_BLANKS)
    close = _find_unescaped(stripped, "]" + _COMMENT, 1)
    if close == -1 or stripped[close] != "]":
        return InvalidLine(number, text, ending, "section header without a closing ']'", None)
    name = _unescape(stripped[1:close])
    if not name:
        return InvalidLine(number, text, ending, "empty section name '[]'", None)
    problem = None
    rest = stripped[close + 1 :]
    comment = _find_unescaped(rest, _COMMENT)
    after = rest if comment == -1 else rest[:comment]
    if after.strip(_BLANKS):
        problem = f"text after the section header: {after.strip(_BLANKS)!r}; Ceph rejects the file"
    elif stripped is not text:
        problem = "the section header is indented; Ceph rejects the file"
    note = None
    if name != name.strip(_SPACE):
        note = (f"the section name {name!r} has blanks inside the brackets; Ceph keeps them, so this is not "
                f"the section [{name.strip(_SPACE)}]")
    return SectionHeader(number, text, ending, name, problem, note)


def _utf8_problem(text: str) -> tuple[int, str] | None:
    """Where Ceph's ``check_utf8`` would stop, as (line, reason); None for clean text."""
    found = _NOT_UTF8.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    char = found.group()
    if char in "\ufffe\uffff":
        return line, f"the character U+{ord(char):04X} (a noncharacter); Ceph's UTF-8 check rejects the file"
    return line, "bytes that are not valid UTF-8; Ceph checks the whole file first and rejects it"


def _parse_setting(number: int, text: str, ending: str, section: str | None) -> CephConfLine:
    logical = _join_continuations(text) if "\n" in text else text
    comment = _find_unescaped(logical, _COMMENT)
    content = logical if comment == -1 else logical[:comment]
    equals = _find_unescaped(content, "=")
    if equals == -1:
        return InvalidLine(number, text, ending, "no '=' in a key = value line; Ceph rejects the file", section)
    raw_key = content[:equals]
    if "[" in raw_key:
        return InvalidLine(number, text, ending, "'[' inside a key; Ceph rejects the file", section)
    key = normalise_key(raw_key)
    if not key:
        return InvalidLine(number, text, ending, "nothing before '='; Ceph rejects the file", section)
    start = equals + 1
    while start < len(content) and content[start] in _BLANKS:
        start += 1
    quote = content[start] if start < len(content) and content[start] in "\"'" else ""
    problem = None
    if quote:
        close = _find_unescaped(content, quote, start + 1)
        if close == -1:
            return InvalidLine(number, text, ending, f"unterminated {quote} quote; Ceph rejects the file", section)
        end = close + 1
        value = _unescape(content[start + 1 : close]).strip(_SPACE)
        if content[end:].strip(_BLANKS):
            problem = f"text after the closing quote: {content[end:].strip(_BLANKS)!r}; Ceph rejects the file"
    else:
        end = len(content.rstrip(_SPACE))
        end = max(end, start)
        if content[end - 1 : end] == "\\" and end < len(content):
            end += 1  # an escaped blank at the end belongs to the value as written
        value = _unescape(content[start:end]).strip(_SPACE)
    if section is None and problem is None:
        problem = _PREAMBLE
    option = key.replace("-", "_")
    return Setting(number, text, ending, section, raw_key, key, option, value, quote, (start, end), problem)


def parse(text: str) -> CephConf:
    """Parse ceph.conf text into a document of lines. Never fails: every text is kept.

    Lines Ceph cannot read become :class:`InvalidLine` (listed in ``problems``), so that the
    wizard can still show the file, explain what is wrong and edit another line of it.
    """
    physical = _split_lines(text)
    lines: list[CephConfLine] = []
    section: str | None = None
    index = 0
    while index < len(physical):
        number = index + 1
        line_text, ending = physical[index]
        stripped = line_text.lstrip(_BLANKS)
        if not stripped:
            lines.append(BlankLine(number, line_text, ending))
        elif stripped[0] in _COMMENT:
            lines.append(CommentLine(number, line_text, ending))
        elif stripped[0] == "[":
            header = _parse_header(number, line_text, ending)
            if isinstance(header, SectionHeader):
                section = header.name
            lines.append(header)
        else:
            joined, last = line_text, index
            while _continues(joined) and last + 1 < len(physical):
                last += 1
                joined = joined + physical[last - 1][1] + physical[last][0]
                ending = physical[last][1]
            if _continues(joined):
                reason = "a backslash continues the last line of the file"
                lines.append(InvalidLine(number, joined, ending, reason, section))
            else:
                lines.append(_parse_setting(number, joined, ending, section))
            index = last
        index += 1
    settings = [line for line in lines if isinstance(line, Setting)]
    first_header = next((i for i, line in enumerate(lines) if isinstance(line, SectionHeader)), None)
    if first_header is None and len(settings) == 1 and settings[0].number == 1:
        # conf_file's first alternative: one key=value starting at the very first byte (blank and
        # comment lines may follow it), filed under [global].
        if settings[0].problem == _PREAMBLE:
            lines[lines.index(settings[0])] = replace(settings[0], problem=None)
    else:
        # The other alternative starts with *eol: before the first header only bare line ends and
        # comments (the skipper) pass, not a line of blanks.
        for index, line in enumerate(lines[:first_header]):
            if isinstance(line, BlankLine) and line.text:
                lines[index] = InvalidLine(line.number, line.text, line.ending, _BLANKS_FIRST, None)
    return CephConf(tuple(lines))


def render(document: CephConf) -> str:
    """The text of a parsed file; ``render(parse(text)) == text`` always holds."""
    return document.render()


# --------------------------------------------------------------------------- reading for a client


def effective(
    document: CephConf,
    client_name: str = "client.admin",
    options: tuple[str, ...] | None = None,
) -> dict[str, EffectiveOption]:
    """What a librbd client named ``client_name`` reads for each rbd cache option, and from where.

    Ceph looks in ``[client.NAME]``, then ``[client]``, then ``[global]`` and stops at the first
    section that has the key; the last occurrence in that section wins. An option no section sets
    has ``setting=None``: the monitor's config database (below the file in Ceph's order of
    sources) or the compiled-in default applies. Lines spelled with dashes are not read by Ceph
    and so never decide; :func:`ignored_settings` lists them.
    """
    wanted = options if options is not None else tuple(RBD_CACHE_OPTIONS)
    sections = [client_name, "client", "global"] if client_name not in ("client", "global") else [client_name, "global"]
    result: dict[str, EffectiveOption] = {}
    for option in wanted:
        setting = None
        for section in dict.fromkeys(sections):
            setting = document.get(section, option)
            if setting is not None:
                break
        if setting is None:
            result[option] = EffectiveOption(option, None, None, None)
            continue
        try:
            result[option] = EffectiveOption(option, setting, parse_value(option, setting.value), None)
        except ParseError as error:
            result[option] = EffectiveOption(option, setting, None, error.message)
    return result


def ignored_settings(document: CephConf, client_name: str = "client.admin") -> tuple[Setting, ...]:
    """rbd cache settings in the client's sections that Ceph does not read (dashed spellings)."""
    sections = {client_name, "client", "global"}
    return tuple(
        s
        for s in document.settings
        if s.section in sections and s.ignored_spelling and s.option in RBD_CACHE_OPTIONS
    )


# --------------------------------------------------------------------------- editing


def _check_new_value(value: str) -> None:
    if value != value.strip(_SPACE) or not value:
        raise ValueError(f"a ceph.conf value must be non-empty without outer blanks, got {value!r}")
    if any(ch in value for ch in "\n\r\\\"'#;"):
        raise ValueError(f"refusing to write a value that needs escaping: {value!r}")


def _newline(document: CephConf) -> str:
    for line in document.lines:
        if line.ending:
            return line.ending
    return "\n"


def set_value(document: CephConf, section: str, key: str, value: str) -> str:
    """The file's new text with ``key`` set to ``value`` in ``section``; nothing else changes.

    * The key exists in the section (Ceph's spelling: spaces or underscores): the line Ceph uses
      (the last one) gets the new value, keeping its key spelling, spacing, quotes and comment.
    * It does not: ``key = value`` (underscores) is added after the section's last setting, with
      that setting's indentation (none if it has none; a tab when the section has no setting).
    * The section does not exist: ``[section]`` and the setting are appended at the end of the
      file, after a blank line.

    The file's line ending style (LF or CRLF) is kept. If the line the new one follows has no
    final newline, it gains one: Ceph rejects a file whose last setting lacks it anyway.
    """
    _check_new_value(value)
    name = normalise_key(key)
    if not name or any(ch in name for ch in "=[]#;\\\"'"):
        raise ValueError(f"not a ceph.conf key: {key!r}")
    target = document.get(section, name)
    if target is not None and target.section == section:
        return "".join(target.with_value(value) if line is target else line.raw for line in document.lines)
    newline = _newline(document)
    headers = [line for line in document.lines if isinstance(line, SectionHeader) and line.name == section]
    if headers:
        members = document.section_settings(section)
        anchor: CephConfLine = members[-1] if members else headers[-1]
        indent = "\t"
        if members:
            indent = anchor.text[: len(anchor.text) - len(anchor.text.lstrip(_BLANKS))]
        addition = f"{indent}{name} = {value}{newline}"
        pieces = []
        for line in document.lines:
            if line is anchor:
                pieces.append(line.text + (line.ending or newline) + addition)
            else:
                pieces.append(line.raw)
        return "".join(pieces)
    text = document.render()
    if text and not text.endswith("\n"):
        text += newline
    if text and document.lines and not (isinstance(document.lines[-1], BlankLine) and document.lines[-1].text == ""):
        text += newline
    return f"{text}[{section}]{newline}\t{name} = {value}{newline}"
