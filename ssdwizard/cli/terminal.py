"""Whether an output stream gets Unicode status marks (the decision itself: ssdwizard.terminal)."""

from __future__ import annotations

import os
from typing import TextIO

from ssdwizard.terminal import wants_ascii


def wants_unicode(stream: TextIO) -> bool:
    """Status marks in Unicode only where the terminal can show them."""
    return not wants_ascii(os.environ, encoding=getattr(stream, "encoding", None) or "")
