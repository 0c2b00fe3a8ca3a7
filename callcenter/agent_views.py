"""The agent page's live parts, rendered on the server in the agent's console language: the
caller's card, the availability switch and the queue panel. The page shows them as they
come (first with the page, then pushed over its socket), so every word is translated here
and the page's script stays free of text."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callcenter.console_auth import csrf_token
from callcenter.console_pages import page_language
from callcenter.keys import SESSIONS, SETTINGS
from handlers import agents, screen_pop
from handlers.agents import QueueWait
from handlers.inbox import desk
from storage.inbox import MessageView
from storage.models.base import utcnow
from storage.sign_in_checks import Credential
from storage.users import UserRecord
from templates import render


async def _render(request: web.Request, user: UserRecord, template: str, **context: Any) -> str:
    return render(
        template,
        language=await page_language(request, user),
        timezone=request.app[SETTINGS].timezone,
        csrf=await csrf_token(request),
        **context,
    )


async def card(
    request: web.Request,
    user: UserRecord,
    call_id: str,
    *,
    via: str,
    replay: bool = False,
    logged: str | None = None,
    credential: Credential | None = None,
) -> dict[str, Any]:
    """The `screen_pop` message for a call (a read of the caller's record, audited);
    `logged`: the ticket the agent just logged from the card, for them to read out;
    `credential`: checked again in the card's reading (SignedOut when it no longer stands)."""
    async with request.app[SESSIONS]() as session:
        pop = await screen_pop.for_call(session, user, call_id, via=via, replay=replay, credential=credential)
    html = await _card_html(request, user, pop, logged)
    return {"type": "screen_pop", "call_id": call_id, "customer": _customer(pop), "html": html}


async def _card_html(
    request: web.Request, user: UserRecord, pop: screen_pop.ScreenPop, logged: str | None
) -> str:
    return await _render(
        request,
        user,
        "console/card.html.j2",
        pop=pop,
        now=utcnow(),
        logged=logged,
        categories=request.app[SETTINGS].complaint_categories,
    )


def _customer(pop: screen_pop.ScreenPop) -> dict[str, Any] | None:
    if pop.customer is None:
        return None
    return {
        "id": pop.customer.id,
        "name": pop.customer.name,
        "tier": pop.customer.tier,
        "blacklisted": pop.customer.blacklisted,
    }


async def chat_offered(
    request: web.Request,
    user: UserRecord,
    conversation_id: int,
    *,
    via: str,
    replay: bool = False,
    credential: Credential | None = None,
) -> dict[str, Any]:
    """The `chat_offered` message: the same card as a call's screen pop (an audited read),
    and `panel`, the chat as the console shows it: the transcript (an audited read too), the
    reply box with the canned replies in the customer's language, transfer and close.
    `credential` as for `card`."""
    async with request.app[SESSIONS]() as session:
        pop = await screen_pop.for_conversation(
            session, user, conversation_id, via=via, replay=replay, credential=credential
        )
        chat = await desk.chat_desk(session, user, conversation_id, via=via)
    html = await _card_html(request, user, pop, None)
    panel = await _render(request, user, "console/chat.html.j2", desk=chat, c=chat.transcript.conversation)
    return {
        "type": "chat_offered",
        "conversation_id": conversation_id,
        "customer": _customer(pop),
        "html": html,
        "panel": panel,
    }


def chat_message(message: MessageView) -> dict[str, Any]:
    """The `chat_message` message: `from` is `customer` or the replying agent's login."""
    return {
        "type": "chat_message",
        "conversation_id": message.conversation_id,
        "message_id": message.id,
        "from": "customer" if message.direction == "in" else message.author,
        "text": message.text,
        "photo": message.photo is not None,
        "at": message.created_at.isoformat(),
        "delivery": message.delivery,
    }


async def availability(request: web.Request, user: UserRecord) -> dict[str, Any]:
    """The `agent_state` message: the agent's state as the server holds it, with the switch."""
    async with request.app[SESSIONS]() as session:
        state = await agents.state_of(session, user)
    html = await _render(request, user, "console/availability.html.j2", state=state, states=agents.STATES)
    return {"type": "agent_state", "state": state, "html": html}


async def queue_panel(
    request: web.Request, user: UserRecord, served: tuple[QueueWait, ...]
) -> dict[str, Any]:
    """The `queues` message: calls waiting in the queues the agent serves."""
    html = await _render(request, user, "console/queues.html.j2", waits=served)
    return {"type": "queues", "html": html}
