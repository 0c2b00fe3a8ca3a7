"""What the bot's handlers read, handed to them by aiogram as `settings`: plain values the
composition root (callcenter/bootstrap.py) copies from the operator's configuration, so the
bot depends on no other adapter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    default_region: str  # how a shared national number is read
    complaint_categories: tuple[str, ...]
    rasa_url: str | None  # free text goes to this Rasa server when set
