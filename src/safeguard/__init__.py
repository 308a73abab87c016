"""Safeguard: triage, grading and referral platform for online child abuse investigation units."""

__version__ = "0.1.0"
