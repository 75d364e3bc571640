"""Text from a profile or a file, made safe to show in a terminal.

A recorded profile comes from a bug report, and a file on the machine (an fstab comment, a disk
model from lsblk, a VM config line) says whatever was written into it. Printed raw, an ESC or a
C1 CSI in such text is a command to the admin's terminal: set the window title, clear the
screen, move the cursor back over a warning, fake a line of a diff. Bidi overrides reorder what
is shown without changing the bytes (Trojan Source, CVE-2021-42574). So everything the report,
the plan output and the wizard show from the machine passes through `visible` first.

No Textual or Rich here: the headless core uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO, cast

# C0 controls but tab and newline, DEL and C1; the bidi embeddings, overrides, isolates and
# marks; the line and paragraph separators (str.splitlines breaks on them, a terminal does not);
# lone surrogates (a str holds them after decoding with surrogateescape, and writing them back
# with surrogateescape puts the raw byte, e.g. 0x9b = CSI, on the terminal).
_ALWAYS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
# A carriage return alone moves the cursor back to overwrite the line; before a newline (a CRLF
# file) it does nothing on a terminal, and multi-line text keeps it (`_escape` decides: one
# character class scans three times faster than an alternation with a lookahead).
_UNSAFE = re.compile(rf"[{_ALWAYS}\r]")
_UNSAFE_ONE_LINE = re.compile(rf"[{_ALWAYS}\r\n]")
# In json.dumps output every C0 control is escaped already, and the newlines between keys are
# the layout: only DEL and above are left.
_UNSAFE_JSON = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\r": "\\r", "\n": "\\n"}


def _shown(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte that was not UTF-8, as surrogateescape kept it
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r" and match.string.startswith("\n", match.end()) and match.re is _UNSAFE:
        return char
    return _shown(char)


def visible(text: str, one_line: bool = False) -> str:
    """``text`` with every character that would steer a terminal written as its escape.

    ESC becomes the four characters ``\\x1b``, C1 CSI ``\\x9b``, DEL ``\\x7f``, a bidi override
    ``\\u202e``, a lone surrogate from surrogateescape the byte it stands for (``\\xff``), any other
    lone surrogate ``\\udXXX``. Tab, newline and a carriage return before a newline stay as they
    are; with ``one_line`` (a value that must not start a new line: an error line, a table cell)
    newline and carriage return are shown as ``\\n`` and ``\\r`` too. Everything else, all
    printable Unicode included, is left alone.

    The result holds no character the function would change, so applying it twice changes
    nothing more. It is for showing, not for parsing back: the text ``\\x1b`` and the ESC
    character look the same afterwards.
    """
    if text.isprintable():  # the common case; every character escaped here is unprintable
        return text
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, text)


def json_visible(dumped: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1, the bidi controls and
    lone surrogates written as ``\\uXXXX``: still valid JSON that loads back to the same strings
    (json.dumps escapes C0 itself, but leaves these raw)."""
    if dumped.isascii() and "\x7f" not in dumped:  # isascii is O(1) on a str: the usual report
        return dumped
    return _UNSAFE_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", dumped)


class _VisibleWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.stream.flush()


def visible_writer(stream: TextIO) -> TextIO:
    """``stream`` with every write passed through `visible`: for output that mixes ssdwizard's
    own words with lines from the machine (a refusal naming a changed line, a follow-up
    command's stderr), so that no message added later can forget it."""
    return cast(TextIO, _VisibleWriter(stream))
