"""Rasa custom actions (moving into one module per concept)."""

from bot.actions.complaints import ACTIONS, Services, ValidateComplaintForm

__all__ = ["ACTIONS", "Services", "ValidateComplaintForm"]
