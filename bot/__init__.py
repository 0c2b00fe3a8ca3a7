"""Telegram adapter (aiogram 3) and Rasa custom actions."""
