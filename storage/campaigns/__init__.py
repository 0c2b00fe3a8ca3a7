"""Campaign repository (being split into one module per concept)."""

from storage.campaigns.dispatch import *  # noqa: F403
