"""What the agent's console shows for one chat: the transcript, the canned replies in the
customer's language, and where the chat may be transferred (other agents, queues)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.inbox.lifecycle import Transcript, read
from handlers.roles import AGENT
from storage.customers import get as get_customer
from storage.routing import queues as queues_repo
from storage.users import UserRecord, all_users

CANNED_FILE = Path(__file__).with_name("canned_replies.toml")
LANGUAGES = ("zh", "en")


@cache
def canned_replies() -> dict[str, tuple[str, ...]]:
    """The canned replies per language (handlers/inbox/canned_replies.toml)."""
    loaded = tomllib.loads(CANNED_FILE.read_text(encoding="utf-8"))
    return {language: tuple(str(text) for text in loaded.get(language, ())) for language in LANGUAGES}


@dataclass(frozen=True)
class ChatDesk:
    transcript: Transcript
    language: str  # the customer's: the canned replies are in it
    canned: tuple[str, ...]
    agents: tuple[str, ...]  # logins of other active agents
    queues: tuple[str, ...]


async def chat_desk(session: AsyncSession, user: UserRecord, conversation_id: int, *, via: str) -> ChatDesk:
    """One chat as the agent's console shows it; reading the transcript is audited."""
    transcript = await read(session, user, conversation_id, via=via)
    customer = await get_customer(session, transcript.conversation.customer_id, details=False)
    language = (customer.language if customer else None) or transcript.conversation.agent_language or "zh"
    language = language if language in LANGUAGES else "zh"
    agents = tuple(
        sorted(
            u.login
            for u in await all_users(session)
            if u.role == AGENT and u.active and u.login != transcript.conversation.agent
        )
    )
    queues = tuple(sorted(await queues_repo.queues(session)))
    return ChatDesk(transcript, language, canned_replies()[language], agents, queues)
