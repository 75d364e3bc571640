"""What the line-preserving parsers (fstab, ceph.conf, datacenter.cfg) share: a file split into
lines that keep their endings, so that rendering gives back the same bytes."""

from __future__ import annotations

from dataclasses import dataclass


def split_lines(text: str) -> list[tuple[str, str]]:
    """(text, ending) pairs. Only ``\\n`` ends a line, as libmount's getline(), Ceph's parser and
    Perl's split do; a ``\\r`` before it belongs to the ending (CRLF files), and the last line
    of a file without a final newline has the ending ``""``."""
    pieces = text.split("\n")
    result: list[tuple[str, str]] = []
    for index, piece in enumerate(pieces):
        if index == len(pieces) - 1:
            if piece:
                result.append((piece, ""))
        elif piece.endswith("\r"):
            result.append((piece[:-1], "\r\n"))
        else:
            result.append((piece, "\n"))
    return result


@dataclass(frozen=True)
class Line:
    """One line of a file: its text (without the ending), the ending, its 1-based number."""

    number: int
    text: str
    ending: str

    @property
    def raw(self) -> str:
        """The line exactly as it was in the file, ending included."""
        return self.text + self.ending
