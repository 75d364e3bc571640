"""The wizard's screens: welcome, disk choice, one per step, the confirm dialog, the summary.

Screens show step results and plans; they never probe or write on their own (the app does,
in workers). Their stylesheet is wizard.tcss beside them.
"""
