"""The wizard's full screens: welcome, disk choice, one per step, the summary.

Screens show step results and plans; they never probe or write on their own (the app does,
in workers).
"""
