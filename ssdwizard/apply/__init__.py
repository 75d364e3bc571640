"""Changes to the machine: plans (what would change, as diffs) and, later, applying them.

Planning only reads: a step's ``plan(result, choices)`` turns what its probe found into a
:class:`~ssdwizard.apply.plan.Plan`. The report, ``--check`` and the wizard's confirm dialog
all show the same diff from it.
"""
