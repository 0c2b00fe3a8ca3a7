"""Free text to a Rasa assistant's REST channel; its replies come back to the chat."""

from __future__ import annotations

import logging

import aiohttp

log = logging.getLogger(__name__)


class RasaForwarder:
    """One HTTP client for the application's life: its connections to Rasa are kept alive
    between messages instead of opened (and closed) for each one. The client is opened on the
    first message, inside the running loop, and closed when the dispatcher shuts down."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._client: aiohttp.ClientSession | None = None

    async def ask(self, base_url: str, sender: str, text: str, language: str) -> list[str]:
        url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        # Rasa's REST channel records the input channel its client names: ours is Telegram, and
        # the sender is the Telegram user id Telegram gave us, so the actions may trust it.
        payload = {
            "sender": sender,
            "message": text,
            "input_channel": "telegram",
            "metadata": {"language": language},
        }
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._client.post(url, json=payload) as response:
                if response.status != 200:
                    log.warning("Rasa answered %s; falling back to the menu", response.status)
                    return []
                answers = await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("Rasa unreachable (%s); falling back to the menu", type(error).__name__)
            return []
        return [str(a["text"]) for a in answers if isinstance(a, dict) and a.get("text")]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
