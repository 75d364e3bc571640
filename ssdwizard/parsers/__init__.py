"""Pure functions from a tool's text output to typed data.

Every parser takes the text a tool printed (or a file held) and returns data, or raises
:class:`ParseError` when the text is not what the tool prints. They never touch the
machine: the steps fetch the text through the System door and hand it over.
"""

from __future__ import annotations


class ParseError(ValueError):
    """The text is not what the tool prints; the message says what was expected."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
