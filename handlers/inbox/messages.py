"""Messages both ways. The customer's text and photos, while a conversation is live, are
stored (once per Telegram message however often it is delivered) and pushed to the agent;
an agent's reply goes out through the outbox (handlers/outbox.py: Telegram's limits, its
retry policy and at-most-once sending) and its delivery state is stored and pushed back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import notify
from handlers.errors import Conflict, Forbidden, InvalidInput, NotFound
from handlers.inbox import publish
from handlers.roles import AGENT
from storage import inbox as repo
from storage.events import EventBus
from storage.inbox import ConversationView, MessageView, NewMessage
from storage.models.base import utcnow
from storage.users import UserRecord

# Telegram's limit for one message's text.
MAX_TEXT = 4096
# The outbox message kind of a reply; its payload names the inbox message.
REPLY = "chat_reply"
# What an outbox outcome means for the reply (pending rows are still being tried).
DELIVERY = {
    "sent": "sent",
    "blocked": "blocked",
    "failed": "failed",
    "unreachable": "failed",
    "uncertain": "uncertain",  # a sender died holding it: maybe sent, never sent again
}


def owned_by(conversation: ConversationView, user: UserRecord) -> None:
    """Only the owning agent acts on a conversation; supervisors and admins on any."""
    if user.role == AGENT and conversation.agent_id != user.id:
        raise Forbidden("this conversation is not yours", error_id="not-your-conversation")


async def from_customer(
    session: AsyncSession,
    events: EventBus,
    *,
    customer_id: int,
    text: str,
    photo: str | None,
    external_id: str,
    now: datetime | None = None,
) -> MessageView | None:
    """Store the customer's message in their live conversation; None when they have none
    (the bot answers as usual). A repeat of a stored message is not pushed again."""
    conversation = await repo.live_for_customer(session, customer_id)
    if conversation is None:
        return None
    message_id = await repo.add_message(
        session,
        NewMessage(
            conversation_id=conversation.id,
            direction="in",
            text=text[:MAX_TEXT],
            photo=photo,
            external_id=external_id,
            created_at=now or utcnow(),
        ),
    )
    await session.commit()
    if message_id is None:
        return None
    await publish.message(events, conversation.id, message_id, conversation.agent)
    return await repo.get_message(session, message_id)


async def reply(
    session: AsyncSession,
    events: EventBus,
    user: UserRecord,
    conversation_id: int,
    text: str,
    now: datetime | None = None,
) -> MessageView:
    """An agent's (or supervisor's) reply to the customer, queued for the Telegram sender."""
    body = text.strip()
    if not body or len(body) > MAX_TEXT:
        raise InvalidInput(f"a reply is 1 to {MAX_TEXT} characters", field="text")
    now = now or utcnow()
    conversation = await repo.get(session, conversation_id, lock=True)
    if conversation is None:
        raise NotFound("no such conversation", conversation_id=conversation_id)
    owned_by(conversation, user)
    if conversation.state != "open":
        raise Conflict("only an open conversation takes replies", error_id="conversation-not-open")
    message_id = await repo.add_message(
        session,
        NewMessage(
            conversation_id=conversation_id,
            direction="out",
            text=body,
            created_at=now,
            author_id=user.id,
            delivery="pending",
        ),
    )
    if message_id is None:  # outgoing messages have no external id: never a conflict
        raise Conflict("the reply could not be stored")
    status = await notify.enqueue(
        session,
        conversation.customer_id,
        kind=REPLY,
        template=REPLY,
        payload={"text": body, "message_id": message_id},
        dedupe_key=f"inbox-message:{message_id}",
    )
    if status == "unreachable":
        await repo.set_delivery(session, message_id, "failed")
    await repo.first_reply(session, conversation_id, now)
    await session.commit()
    await publish.message(events, conversation_id, message_id, conversation.agent)
    stored = await repo.get_message(session, message_id)
    if stored is None:
        raise NotFound("no such message", message_id=message_id)
    return stored


async def delivered(session: AsyncSession, events: EventBus, message_id: int, outcome: str) -> None:
    """The outbox settled a reply (sent, failed, blocked, uncertain): store it and tell the agent.
    The outbox has committed its own outcome; this is a second, small transaction."""
    delivery = DELIVERY.get(outcome)
    if delivery is None:  # still pending: a retry is due
        return
    message = await repo.get_message(session, message_id)
    if message is None:
        return
    await repo.set_delivery(session, message_id, delivery)
    await session.commit()
    conversation = await repo.get(session, message.conversation_id)
    await publish.delivery(
        events, message.conversation_id, message_id, delivery, conversation.agent if conversation else None
    )


async def message(session: AsyncSession, message_id: int) -> MessageView | None:
    """One message, for the socket that was told of it."""
    return await repo.get_message(session, message_id)
