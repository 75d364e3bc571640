"""The characters the wizard draws with: Unicode on a modern terminal, ASCII on a console.

Debian's console fonts (and most serial terminals) have no ✔ ⚠ ✖ ○ ⏎, none of the partial
blocks (▁▂▃ ▎▊ ▔) and often no arrows; a C locale may not even get UTF-8 through. There the
wizard draws as newt and dialog do: ``[+]``/``[!]``/``[x]`` marks, ``->``, ``...``, ``#`` bars.

:func:`fold` turns any text into ASCII: with ``keep_width`` it keeps each character's cell
width (the last-resort filter over whole screen lines needs that, or the columns would shift),
without it it may spell a character out (``…`` → ``...``, ``→`` → ``->``).

Pure Python, no Textual: the screens and the exit summary use it alike.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from ssdwizard.model import Status


WORDS = {Status.OK: "OK", Status.SKIP: "SKIPPED", Status.WARN: "WARNING", Status.FAIL: "FAILED", Status.ERROR: "ERROR"}


@dataclass(frozen=True)
class Glyphs:
    marks: dict[Status, str]
    arrow: str
    bullet: str
    ellipsis: str
    dash: str
    bar_full: str
    bar_empty: str
    collapsed: str
    expanded: str
    spark: str
    ascii: bool = False
    words: dict[Status, str] = field(default_factory=lambda: dict(WORDS))

    def mark(self, status: Status) -> str:
        """The status as a mark and its word, e.g. ``✔ ok`` or ``[+] ok``."""
        return f"{self.marks[status]} {status.value}"

    def text(self, text: str) -> str:
        """``text`` as this terminal can show it (folded to ASCII on a console)."""
        return fold(text) if self.ascii else text


UNICODE = Glyphs(
    marks={Status.OK: "✔", Status.SKIP: "○", Status.WARN: "⚠", Status.FAIL: "✖", Status.ERROR: "‼"},
    arrow="→", bullet="•", ellipsis="…", dash="–", bar_full="█", bar_empty="░",
    collapsed="▶", expanded="▼", spark="▁▂▃▄▅▆▇█",
)

# The same marks as the headless report's ASCII marks, in brackets so that they stand out.
ASCII = Glyphs(
    marks={Status.OK: "[+]", Status.SKIP: "[-]", Status.WARN: "[!]", Status.FAIL: "[x]", Status.ERROR: "[#]"},
    arrow="->", bullet="*", ellipsis="...", dash="-", bar_full="#", bar_empty=".",
    collapsed=">", expanded="v", spark="_.-=+*#@", ascii=True,
)


# Spelled-out replacements where a few characters read better than one.
_SPELLED = {
    "…": "...", "→": "->", "←": "<-", "⇒": "=>", "↔": "<->", "≥": ">=", "≤": "<=", "≠": "!=",
    "—": "--", "✔": "[+]", "✓": "[+]", "⚠": "[!]", "✖": "[x]", "✗": "[x]", "‼": "[#]", "○": "[-]",
    "⏎": "Enter", "§": "sect. ", "©": "(c)", "®": "(R)", "™": "(TM)", "½": "1/2", "¼": "1/4", "¾": "3/4",
}
# One character for one cell: what the line filter uses.
_SINGLE = {
    "…": ".", "→": ">", "←": "<", "↑": "^", "↓": "v", "⇒": ">", "↔": "-", "≥": ">", "≤": "<", "≠": "#",
    "≈": "~", "±": "+", "×": "x", "÷": "/", "°": "o", "µ": "u", "·": ".", "•": "*", "●": "*", "○": "o",
    "◦": "o", "⭘": "o", "■": "#", "□": "o", "▪": "#", "▶": ">", "►": ">", "▸": ">", "◀": "<", "◄": "<",
    "▼": "v", "▾": "v", "▲": "^", "▴": "^", "✔": "+", "✓": "+", "⚠": "!", "✖": "x", "✗": "x", "‼": "!",
    "⏎": "<", "⌫": "<", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "‘": "'", "’": "'",
    "‚": ",", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "§": "S", "¶": "P", "©": "c",
    "®": "R", "¦": "|", "¬": "-", "¡": "!", "¿": "?", "ß": "s", "æ": "e", "Æ": "E", "ø": "o",
    "Ø": "O", "ð": "d", "þ": "p", "ł": "l", "Ł": "L", "\u00a0": " ",
    # Block elements: full and shaded blocks as #, the eighths by where they sit.
    "█": "#", "▓": "#", "▒": "#", "░": ".", "▀": "-", "▄": "_", "▌": "|", "▐": "|",
    "▁": "_", "▂": "_", "▃": "_", "▅": "#", "▆": "#", "▇": "#", "▔": "-", "▕": "|",
    "▏": "|", "▎": "|", "▍": "|", "▋": "|", "▊": "|", "▉": "#",
}


def _box_drawing(char: str, name: str) -> str:
    """Lines and corners of U+2500..U+257F as - | +, by the name of the character."""
    horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
    if horizontal and not vertical and not any(w in name for w in ("DOWN", "UP", "LEFT", "RIGHT")):
        return "-"
    if vertical and not horizontal and not any(w in name for w in ("DOWN", "UP", "LEFT", "RIGHT")):
        return "|"
    if name.endswith(("LEFT", "RIGHT")) and "AND" not in name and ("LIGHT" in name or "HEAVY" in name):
        return "-"  # the half lines ╴ ╶ ╸ ╺
    if name.endswith(("UP", "DOWN")) and "AND" not in name and ("LIGHT" in name or "HEAVY" in name):
        return "|"
    return "+"


def _cells(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


@lru_cache(maxsize=4096)
def _fold_char(char: str, keep_width: bool) -> str:
    if not keep_width and char in _SPELLED:
        return _SPELLED[char]
    if char in _SINGLE:
        return _SINGLE[char]
    name = unicodedata.name(char, "")
    if "\u2500" <= char <= "\u257f":
        return _box_drawing(char, name)
    width = _cells(char)
    if width == 0:
        return ""
    # ü → u, ﬁ → fi: the letter without its accents (cut to the cell width where that matters).
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if decomposed and decomposed.isascii() and decomposed.isprintable():
        if not keep_width or len(decomposed) == width:
            return decomposed
        if len(decomposed) > width:
            return decomposed[:width]
    return "?" * width


def fold(text: str, keep_width: bool = False) -> str:
    """``text`` in ASCII: ü → u, ✔ → [+] (or + with ``keep_width``), box lines → - | +, blocks → #,
    anything else → ? (one per cell it took). ASCII text comes back as it is."""
    if text.isascii():
        return text
    return "".join(c if c.isascii() else _fold_char(c, keep_width) for c in text)
