"""Where a screen sits in the walk: the disk choice, a step by its index in STEPS, the summary."""

from __future__ import annotations

from ssdwizard.steps import STEPS

#: Below this the screens do not fit: the wizard shows a notice instead (80x24, a VT100).
MIN_SIZE = (80, 24)
#: The disk choice comes before the first step.
DISK_CHOICE = -1
#: The summary comes after the last step.
SUMMARY = len(STEPS)
