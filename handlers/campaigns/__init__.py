"""Outbound campaigns: satisfaction surveys, follow-ups and cross-sell offers.

A campaign is expanded into targets (its own outbox) when it starts; workers claim targets,
check the rules at the moment of sending, send through a channel and record the outcome.
See docs/campaigns.md for the delivery guarantee and why it is what it is.

One concept per module; the names callers use are re-exported here:

- channel: the `Channel` protocol, `Outbound` and `Delivery` (handlers/delivery.py;
  bot/sender.TelegramChannel implements it)
- policy: the operator's `Policy`
- audience: the audience filters, parsed and stored
- definition: `CampaignSpec`, validation, `create`, `get`, `list_all`, `count_audience`
- lifecycle: a supervisor's moves (`act`, `MOVES`)
- messages: rendering a campaign's text, the `preview`
- schedule: the time zones open right now
- expansion: `expand_due`
- dispatch: `send_one`, `dispatch_once`
- worker: `run_worker`
- dialer: `next_dial`, `dial_result`
- progress: `progress`, `progress_of`
- overview: `overview`, the supervisor's list
- conversions: `offer_accepted`
"""

from handlers.campaigns.channel import Channel, Delivery, Outbound
from handlers.campaigns.conversions import offer_accepted
from handlers.campaigns.definition import CHANNELS, KINDS, CampaignSpec, count_audience, create, get, list_all
from handlers.campaigns.dialer import DIAL_OUTCOMES, dial_result, next_dial
from handlers.campaigns.dispatch import dispatch_once, send_one
from handlers.campaigns.expansion import expand_due
from handlers.campaigns.lifecycle import MOVES, act
from handlers.campaigns.messages import preview, render
from handlers.campaigns.overview import Overview, overview
from handlers.campaigns.policy import Policy
from handlers.campaigns.progress import progress, progress_of
from handlers.campaigns.worker import run_worker
from storage.campaigns.views import CampaignView

__all__ = [
    "CHANNELS",
    "DIAL_OUTCOMES",
    "KINDS",
    "MOVES",
    "CampaignSpec",
    "CampaignView",
    "Channel",
    "Delivery",
    "Outbound",
    "Overview",
    "Policy",
    "act",
    "count_audience",
    "create",
    "dial_result",
    "dispatch_once",
    "expand_due",
    "get",
    "list_all",
    "next_dial",
    "offer_accepted",
    "overview",
    "preview",
    "progress",
    "progress_of",
    "render",
    "run_worker",
    "send_one",
]
