"""The Textual wizard: the only part of ssdwizard that imports textual or rich.

``app`` (WizardApp: probing, applying, undoing and exporting in workers), ``messages`` (what
the workers tell the screens), ``navigation`` (where a screen sits in the walk), ``screens/``
(welcome, disk choice, a step, the summary), ``modals/`` (dialogs), ``widgets/`` (status,
facts, charts, each step's picture and extras), ``glyphs`` and ``console`` (ASCII and the 16
colours of the Linux console).
"""
