"""/etc/fstab as a document of lines, so that an edit can change one line and keep every byte.

The mount step recommends ``noatime`` and the apply layer writes that advice back into the
admin's own file. An fstab is hand-made: aligned columns, tabs, comments, commented-out
entries, lines mangled by a paste. Regenerating it from parsed entries would destroy all of
that, so this module keeps **every line as it was** and parses the entries on top:

* ``render(parse(text)) == text`` for any text at all, byte for byte (CRLF, a missing final
  newline, trailing blanks, NUL bytes: whatever is there comes back).
* A line that mount(8) could not read either (fewer than four fields, more than six, a dump
  or pass that is not a number) becomes an :class:`UnparsedLine`, kept verbatim with the
  reason, like ansible's mount module keeps the lines it does not understand.
* :meth:`FstabEntry.with_options` rewrites just the options column of one line and keeps the
  separators (tab or spaces, and the column the next field starts in where it can).

The syntax follows libmount (util-linux), which is what mount(8), findmnt and systemd's
fstab generator read: fields are separated by runs of blanks (space or tab); a line whose first
non-blank character is ``#`` is a comment; a trailing ``\\r`` before ``\\n`` is not part of the
line; ``\\ooo`` octal escapes (in practice ``\\040`` space, ``\\011`` tab, ``\\012`` newline,
``\\134`` backslash) stand for characters that would otherwise end a field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

from ssdwizard.parsers.lines import Line, split_lines

__all__ = [
    "BlankLine",
    "CommentLine",
    "Fstab",
    "FstabEntry",
    "FstabLine",
    "UnparsedLine",
    "decode",
    "encode",
    "find_by_mount_point",
    "join_options",
    "parse",
    "render",
    "split_options",
]

# libmount splits fields on blanks only; other control characters belong to the field.
_FIELD = re.compile(r"[^ \t]+")
_OCTAL = re.compile(r"\\([0-3][0-7]{2})")
_NUMBER = re.compile(r"[0-9]+", re.ASCII)
# The characters libmount's mangle() escapes when it writes a field, plus carriage return:
# a field ending in a raw CR at the end of a line would read back as a CRLF line ending.
_MANGLE = {" ": "\\040", "\t": "\\011", "\n": "\\012", "\r": "\\015", "\\": "\\134"}
# Tags that name a filesystem instead of a device path (fstab(5), blkid).
_TAGS = ("UUID", "LABEL", "PARTUUID", "PARTLABEL", "ID")


def decode(field: str) -> str:
    """Undo fstab/mountinfo octal escapes: ``/mnt/SSD\\040data`` -> ``/mnt/SSD data``.

    Only a backslash followed by three octal digits (at most ``\\377``) is an escape, as in
    libmount's unmangle(); any other backslash is an ordinary character.
    """
    if "\\" not in field:
        return field
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def encode(value: str) -> str:
    """Escape the characters that would end an fstab field (the inverse of :func:`decode`)."""
    return "".join(_MANGLE.get(ch, ch) for ch in value)


def split_options(field: str) -> tuple[str, ...]:
    """Split a decoded options field on commas, keeping double-quoted values whole.

    SELinux contexts carry commas inside quotes (``context="system_u:object_r:t:s0:c1,c2"``);
    libmount's option parser honours the quotes, so this does too.
    """
    options: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in field:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            options.append("".join(current))
            current = []
        else:
            current.append(ch)
    options.append("".join(current))
    return tuple(options)


def join_options(options: Iterable[str]) -> str:
    """The raw options field for a list of options: joined by commas, then escaped."""
    return encode(",".join(options))


_Line = Line  # text, ending, number and raw: shared with the other line-keeping parsers


@dataclass(frozen=True)
class BlankLine(_Line):
    """An empty line or one of blanks only."""


@dataclass(frozen=True)
class CommentLine(_Line):
    """A line whose first non-blank character is ``#`` (commented-out entries included)."""


@dataclass(frozen=True)
class UnparsedLine(_Line):
    """A line that is neither comment nor entry; kept verbatim, ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class FstabEntry(_Line):
    """One mount entry, its fields decoded, with the raw tokens kept for rewriting.

    ``tokens`` are the raw fields (escapes intact) and ``gaps`` the blanks around them:
    ``text == gaps[0] + tokens[0] + gaps[1] + ... + tokens[-1] + gaps[-1]``.
    ``dump`` and ``pass_`` are ``None`` when the line has only four or five fields (mount(8)
    then assumes 0). ``options`` are decoded and split; an empty tuple never occurs, because
    a fourth field always exists.
    """

    spec: str
    file: str
    vfstype: str
    options: tuple[str, ...]
    dump: int | None
    pass_: int | None
    tokens: tuple[str, ...]
    gaps: tuple[str, ...]

    @property
    def mount_point(self) -> str:
        """The mount point (``file``) without trailing slashes, ``/`` stays ``/``."""
        return _normalise_path(self.file)

    @property
    def spec_tag(self) -> tuple[str, str] | None:
        """``("UUID", "1781fb6b-...")`` for a tag spec, quotes removed; ``None`` for a path.

        libmount accepts ``UUID="..."`` as well as ``UUID=...`` (Debian installers wrote the
        quoted form), so both give the same value here.
        """
        name, sep, value = self.spec.partition("=")
        if not sep or name not in _TAGS:
            return None
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return name, value

    def has_option(self, name: str) -> bool:
        """Whether an option is present, by name: ``has_option("commit")`` matches ``commit=600``."""
        return any(option == name or option.startswith(name + "=") for option in self.options)

    def with_options(self, options: Sequence[str]) -> str:
        """This line with its options column replaced; every other byte stays as it was.

        Returns the whole line, line ending included, ready to take this line's place. The
        separator after the options keeps the next column where it was when it is made of
        spaces and was wider than one (an aligned table); tabs and single spaces are kept
        as they are. At least one blank always separates the fields.
        """
        options = list(options)
        old = self.tokens[3]
        # An option that stays keeps its own raw spelling (an escape written differently
        # from how encode() would write it is still the admin's byte, not ours to change).
        raw_pieces = split_options(old)
        spelled = dict(zip((decode(piece) for piece in raw_pieces), raw_pieces))
        if tuple(spelled) != self.options:
            spelled = {}
        new = ",".join(spelled.get(option) or encode(option) for option in options)
        if not new:
            # An empty field would shift dump into the options column: refuse, don't corrupt.
            raise ValueError(f"an fstab options field cannot be empty, got {options!r}")
        gaps = list(self.gaps)
        after = gaps[4]
        # gaps[4] is trailing blanks on a four-field line: nothing to align there.
        if len(self.tokens) > 4 and len(after) > 1 and set(after) == {" "}:
            gaps[4] = " " * max(1, len(after) - (len(new) - len(old)))
        tokens = list(self.tokens)
        tokens[3] = new
        pieces = [gaps[0]]
        for token, gap in zip(tokens, gaps[1:]):
            pieces.append(token)
            pieces.append(gap)
        return "".join(pieces) + self.ending


FstabLine = Union[BlankLine, CommentLine, UnparsedLine, FstabEntry]


@dataclass(frozen=True)
class Fstab:
    """The whole file: every line in order; ``render()`` gives back the exact text."""

    lines: tuple[FstabLine, ...]

    @property
    def entries(self) -> tuple[FstabEntry, ...]:
        """The mount entries, in file order (comments and unparsed lines left out)."""
        return tuple(line for line in self.lines if isinstance(line, FstabEntry))

    @property
    def unparsed(self) -> tuple[UnparsedLine, ...]:
        """Lines mount(8) would reject too; a step can show them as a warning."""
        return tuple(line for line in self.lines if isinstance(line, UnparsedLine))

    def render(self) -> str:
        """The file's text, byte for byte as parsed."""
        return "".join(line.raw for line in self.lines)

    def find(self, mount_point: str) -> tuple[FstabEntry, ...]:
        """Entries that mount at ``mount_point`` (see :func:`find_by_mount_point`)."""
        return find_by_mount_point(self, mount_point)

    def replace_options(self, entry: FstabEntry | int, options: Sequence[str]) -> str:
        """The whole file's new text with one entry's options replaced, nothing else touched.

        ``entry`` is an entry of this document or its line number. The apply layer diffs
        ``render()`` against this to show the admin the one changed line.
        """
        number = entry if isinstance(entry, int) else entry.number
        if not 1 <= number <= len(self.lines):
            raise ValueError(f"fstab has no line {number}")
        target = self.lines[number - 1]
        if not isinstance(target, FstabEntry):
            raise ValueError(f"fstab line {number} is not a mount entry: {target.text!r}")
        if not isinstance(entry, int) and target != entry:
            raise ValueError(f"fstab line {number} is not the entry given (stale document?)")
        return "".join(
            target.with_options(options) if line is target else line.raw for line in self.lines
        )


def _normalise_path(path: str) -> str:
    stripped = path.rstrip("/")
    return stripped if stripped else path[:1]


_split_lines = split_lines


def _parse_line(number: int, text: str, ending: str) -> FstabLine:
    stripped = text.lstrip(" \t")
    if not stripped:
        return BlankLine(number, text, ending)
    if stripped.startswith("#"):
        return CommentLine(number, text, ending)
    spans = [match.span() for match in _FIELD.finditer(text)]
    tokens = tuple(text[start:end] for start, end in spans)
    if len(tokens) < 4:
        return UnparsedLine(number, text, ending, f"{len(tokens)} fields, an entry needs 4 to 6")
    if len(tokens) > 6:
        return UnparsedLine(number, text, ending, f"{len(tokens)} fields, an entry has at most 6")
    numbers: list[int | None] = [None, None]
    for slot, token in enumerate(tokens[4:]):
        if not _NUMBER.fullmatch(token):
            which = "dump" if slot == 0 else "pass"
            return UnparsedLine(number, text, ending, f"{which} field {token!r} is not a number")
        numbers[slot] = int(token)
    bounds = [0] + [edge for span in spans for edge in span] + [len(text)]
    gaps = tuple(text[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))
    return FstabEntry(
        number=number,
        text=text,
        ending=ending,
        spec=decode(tokens[0]),
        file=decode(tokens[1]),
        vfstype=decode(tokens[2]),
        options=split_options(decode(tokens[3])),
        dump=numbers[0],
        pass_=numbers[1],
        tokens=tokens,
        gaps=gaps,
    )


def parse(text: str) -> Fstab:
    """Parse fstab text into a document of lines. Never fails: every text is some fstab.

    Lines mount(8) cannot read are kept as :class:`UnparsedLine` rather than rejected, because
    the wizard must be able to edit a file that has a broken line elsewhere without touching it.
    """
    return Fstab(
        tuple(
            _parse_line(number, line_text, ending)
            for number, (line_text, ending) in enumerate(_split_lines(text), start=1)
        )
    )


def render(document: Fstab) -> str:
    """The text of a parsed fstab; ``render(parse(text)) == text`` always holds."""
    return document.render()


def find_by_mount_point(document: Fstab, mount_point: str) -> tuple[FstabEntry, ...]:
    """Entries whose mount point is ``mount_point``; ``/home/`` and ``/home`` are the same.

    A tuple, not one entry: an fstab may list the same mount point twice (the later line wins
    at boot), and a step should be able to say so.
    """
    wanted = _normalise_path(mount_point)
    return tuple(entry for entry in document.entries if entry.mount_point == wanted)
