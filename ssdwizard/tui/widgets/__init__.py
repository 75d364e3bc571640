"""Widgets the screens share: status and findings, facts, charts, and each step's picture."""
