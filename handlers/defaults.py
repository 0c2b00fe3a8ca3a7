"""The operator's defaults, said once: the settings default to these, and the use cases'
own defaults (a calendar, a survey) are the same values. Nothing here reads the environment."""

from __future__ import annotations

from datetime import timedelta

# The operator's time zone: deadlines, business hours and campaign send windows.
TIMEZONE = "Asia/Shanghai"
# What a customer may complain about (CONTACTDESK_COMPLAINT_CATEGORIES replaces them).
COMPLAINT_CATEGORIES: tuple[str, ...] = ("network", "billing", "service", "product", "other")
# How long a CSAT or NPS survey may be answered.
SURVEY_LIFETIME = timedelta(days=7)
