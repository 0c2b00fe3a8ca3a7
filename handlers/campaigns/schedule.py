"""When a campaign may send: its window, its weekdays and hours in each customer's zone."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.campaigns.views import CampaignView

log = logging.getLogger(__name__)


def open_zones(campaign: CampaignView, now: datetime) -> list[str]:
    """The customers' time zones in which this campaign may send right now."""
    if now < campaign.starts_at or (campaign.ends_at is not None and now >= campaign.ends_at):
        return []
    zones = []
    for name in campaign.timezones:
        try:
            local = now.astimezone(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("campaign %s: unknown time zone %r; its customers wait", campaign.id, name)
            continue
        if local.weekday() in campaign.weekdays and campaign.hour_from <= local.hour < campaign.hour_to:
            zones.append(name)
    return zones
