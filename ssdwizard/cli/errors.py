"""How a command-line run ends when it cannot do what was asked (DESIGN §3.3)."""

from __future__ import annotations

EXIT_NOT_RUN = 1
EXIT_COULD_NOT_RUN = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument: one line for the admin, shown with the usage."""


class CannotRun(Exception):
    """The run cannot start or finish (unreadable profile, output not writable); no usage."""
