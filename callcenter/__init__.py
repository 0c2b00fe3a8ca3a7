"""The aiohttp application, telephony webhooks, console, API and the composition root."""
