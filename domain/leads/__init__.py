"""Leads: CSV and webhook intake, hand-offs, and one-click ratings."""
