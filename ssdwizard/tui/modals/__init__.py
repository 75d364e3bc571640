"""Dialogs over a screen: confirm a plan, help, the step list, quit, too small, the active tests."""
