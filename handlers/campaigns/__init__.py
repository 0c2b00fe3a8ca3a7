"""Outbound campaigns (being split into one module per concept)."""

from handlers.campaigns.definition import *  # noqa: F403
