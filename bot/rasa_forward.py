"""Free text to a Rasa assistant's REST channel; its replies come back to the chat."""

from __future__ import annotations

import logging

import aiohttp

log = logging.getLogger(__name__)


async def ask_rasa(base_url: str, sender: str, text: str, language: str) -> list[str]:
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    # Rasa's REST channel records the input channel its client names: ours is Telegram, and
    # the sender is the Telegram user id Telegram gave us, so the actions may trust it.
    payload = {
        "sender": sender,
        "message": text,
        "input_channel": "telegram",
        "metadata": {"language": language},
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client,
            client.post(url, json=payload) as response,
        ):
            if response.status != 200:
                log.warning("Rasa answered %s; falling back to the menu", response.status)
                return []
            answers = await response.json()
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("Rasa unreachable (%s); falling back to the menu", type(error).__name__)
        return []
    return [str(a["text"]) for a in answers if isinstance(a, dict) and a.get("text")]
