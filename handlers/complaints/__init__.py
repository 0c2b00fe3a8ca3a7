"""Complaints (being split into one module per concept)."""

from handlers.complaints.lifecycle import *  # noqa: F403
