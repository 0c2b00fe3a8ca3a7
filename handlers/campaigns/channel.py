"""The `Channel` protocol campaign messages go out through, and what crosses it: the
outbox's own (handlers/delivery.py), so campaigns and notifications share one sender
(bot/sender.TelegramChannel), one backoff and one attempts limit. The dialer is not a
channel (the PBX pulls its calls from handlers/campaigns/dialer.py)."""

from handlers.delivery import Channel as Channel
from handlers.delivery import Delivery as Delivery
from handlers.delivery import Outbound as Outbound
