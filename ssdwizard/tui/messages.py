"""What the app's workers tell the screens. The app posts each to itself, keeps what it must
(results, applied changes) and passes it on to every screen on the stack; none of them bubbles
back from a screen to the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from ssdwizard.model import StepResult

if TYPE_CHECKING:
    from ssdwizard.apply.engine import Applied


class ProbeCompleted(Message, bubble=False):
    """A step's probe (and planner) finished; ``result`` may be an error result."""

    def __init__(self, step_id: str, result: StepResult) -> None:
        super().__init__()
        self.step_id = step_id
        self.result = result


class ApplyFinished(Message, bubble=False):
    """An apply ended: ``applied`` on success, else ``error`` and what was ``restored``."""

    def __init__(self, step_id: str, applied: Applied | None, error: str | None, restored: list[str]) -> None:
        super().__init__()
        self.step_id = step_id
        self.applied = applied
        self.error = error
        self.restored = restored


class UndoFinished(Message, bubble=False):
    """An undo from the wizard ended: ``lines`` say what was put back, or ``error`` why not."""

    def __init__(self, journal_id: str, lines: list[str], error: str | None) -> None:
        super().__init__()
        self.journal_id = journal_id
        self.lines = lines
        self.error = error


class ExportFinished(Message, bubble=False):
    """The report was written to ``path`` (``error`` is None) or could not be."""

    def __init__(self, path: str, fmt: str, error: str | None) -> None:
        super().__init__()
        self.path = path
        self.fmt = fmt
        self.error = error
