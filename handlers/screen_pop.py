"""What an agent sees while the call rings: the caller's context in one card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import offers
from handlers.accounts import credential_stands
from handlers.errors import Forbidden, NotFound, SignedOut
from handlers.roles import AGENT
from storage import cards
from storage import complaints as complaints_repo
from storage import customers as customers_repo
from storage import inbox as inbox_repo
from storage import surveys as surveys_repo
from storage.audit import Actor, audit
from storage.complaints import OPEN_STATES, ComplaintView
from storage.customers import CustomerRecord
from storage.models.base import utcnow
from storage.routing import contact_log
from storage.routing.contact_log import ContactView
from storage.sign_in_checks import Credential
from storage.surveys import SurveyView
from storage.users import UserRecord


@dataclass(frozen=True)
class ScreenPop:
    call_id: str
    queue: str | None
    reason: str
    customer: CustomerRecord | None
    caller: str | None
    open_complaints: tuple[ComplaintView, ...]
    recent_contacts: tuple[ContactView, ...]
    satisfaction: tuple[SurveyView, ...]
    offer: offers.OfferView | None
    # When routing offered the call: the card's timer counts from here.
    offered_at: datetime

    @property
    def monthly_spend(self) -> Decimal:
        return (
            sum((h.monthly_spend for h in self.customer.holdings), Decimal(0))
            if self.customer
            else Decimal(0)
        )

    @property
    def last_score(self) -> SurveyView | None:
        return self.satisfaction[0] if self.satisfaction else None


async def _offered(session: AsyncSession, agent: UserRecord, call_id: str, channel: str) -> ContactView:
    contact = await contact_log.get_contact(session, channel, call_id)
    if contact is None:
        raise NotFound("no such call", call_id=call_id)
    if agent.role == AGENT and contact.agent_id != agent.id:
        raise Forbidden("this call was not offered to you")
    return contact


async def caller_of(
    session: AsyncSession, agent: UserRecord, call_id: str, *, channel: str = "phone"
) -> int | None:
    """The customer on a call offered to the agent (None for a stranger), without reading
    their record: for acting on the call, not for showing it."""
    return (await _offered(session, agent, call_id, channel)).customer_id


async def for_call(
    session: AsyncSession,
    agent: UserRecord,
    call_id: str,
    *,
    via: str,
    replay: bool = False,
    channel: str = "phone",
    credential: Credential | None = None,
) -> ScreenPop:
    """The card for a call; an agent may open only the calls offered to them. Every card
    that shows a customer is a read of their record, audited (`replay`: resent to a
    reconnecting socket). `credential`: what a long-lived request signed in with; SignedOut,
    and nothing read, once it no longer stands."""
    if _one_statement(session):
        return await _for_call_at_once(
            session, agent, call_id, via=via, replay=replay, channel=channel, credential=credential
        )
    await check_signed_in(session, credential)
    contact = await _offered(session, agent, call_id, channel)
    found = await _context(
        session,
        agent,
        contact.customer_id,
        via=via,
        subject=("call", call_id),
        replay=replay,
        skip=contact.id,
    )
    return found.pop(call_id, contact.queue, contact.reason, contact.from_number, contact.created_at)


def _one_statement(session: AsyncSession) -> bool:
    """PostgreSQL reads the card in one statement (storage/cards.py), on a session that has
    not begun a transaction (its connection goes to autocommit)."""
    return session.get_bind().dialect.name == "postgresql" and not session.in_transaction()


async def check_signed_in(session: AsyncSession, credential: Credential | None) -> None:
    """SignedOut unless the credential (if any) still stands."""
    if credential is not None and not await credential_stands(session, credential):
        raise SignedOut("signed out")


async def _for_call_at_once(
    session: AsyncSession,
    agent: UserRecord,
    call_id: str,
    *,
    via: str,
    replay: bool,
    channel: str,
    credential: Credential | None,
) -> ScreenPop:
    """`for_call` in one round trip: the same checks, card and audit entry as the ORM path,
    and the sign-in check too."""
    details: dict[str, object] = {"call_id": call_id}
    if replay:
        details["replay"] = True
    actor = Actor.of(agent, via)
    rows = await cards.for_call(
        session,
        channel=channel,
        call_id=call_id,
        offered_to=agent.id if agent.role == AGENT else None,
        actor=(actor.name, actor.via, actor.user_id),
        details=details,
        now=utcnow(),
        catalogue=[offer.code for offer in offers.shipped_catalogue()],
        credential=credential,
    )
    if not rows.signed_in:
        raise SignedOut("signed out")
    contact = rows.contact
    if contact is None:
        raise NotFound("no such call", call_id=call_id)
    if agent.role == AGENT and contact.agent_id != agent.id:
        raise Forbidden("this call was not offered to you")
    found = _Context(
        rows.customer,
        rows.open_complaints,
        tuple(c for c in rows.recent if c.id != contact.id)[:5],
        rows.satisfaction,
        offers.offer_from(rows.facts, rows.peers),
    )
    return found.pop(call_id, contact.queue, contact.reason, contact.from_number, contact.created_at)


@dataclass(frozen=True)
class _Context:
    customer: CustomerRecord | None
    open_complaints: tuple[ComplaintView, ...]
    recent: tuple[ContactView, ...]
    satisfaction: tuple[SurveyView, ...]
    offer: offers.OfferView | None

    def pop(
        self, call_id: str, queue: str | None, reason: str, caller: str | None, at: datetime
    ) -> ScreenPop:
        return ScreenPop(
            call_id,
            queue,
            reason,
            self.customer,
            caller,
            self.open_complaints,
            self.recent,
            self.satisfaction,
            self.offer,
            at,
        )


async def _context(
    session: AsyncSession,
    agent: UserRecord,
    customer_id: int | None,
    *,
    via: str,
    subject: tuple[str, str],
    replay: bool,
    skip: int | None,
) -> _Context:
    """The customer's side of a card, and its read audited (`subject`: what it was shown
    for, a call or a conversation)."""
    if customer_id is None:
        return _Context(None, (), (), (), None)
    customer = await customers_repo.get(session, customer_id)
    open_complaints = tuple(
        await complaints_repo.search(session, customer_id=customer_id, states=OPEN_STATES)
    )
    recent = tuple(
        c for c in await contact_log.recent_contacts(session, customer_id, limit=6) if c.id != skip
    )[:5]
    satisfaction = tuple(await surveys_repo.search(session, customer_id=customer_id, answered=True, limit=5))
    offer = await offers.best_offer(session, customer_id)
    kind, subject_id = subject
    details: dict[str, object] = {f"{kind}_id": subject_id}
    if replay:
        details["replay"] = True
    await audit(
        session,
        actor=Actor.of(agent, via),
        action="customer.card",
        customer_id=customer_id,
        subject_type=kind,
        subject_id=subject_id,
        details=details,
    )
    await session.commit()
    return _Context(customer, open_complaints, recent, satisfaction, offer)


async def for_conversation(
    session: AsyncSession,
    agent: UserRecord,
    conversation_id: int,
    *,
    via: str,
    replay: bool = False,
    credential: Credential | None = None,
) -> ScreenPop:
    """The same card for a chat offered to the agent (its id reads `chat-<id>`);
    `credential` as for a call's."""
    await check_signed_in(session, credential)
    conversation = await inbox_repo.get(session, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", conversation_id=conversation_id)
    if agent.role == AGENT and conversation.agent_id != agent.id:
        raise Forbidden("this conversation is not yours")
    found = await _context(
        session,
        agent,
        conversation.customer_id,
        via=via,
        subject=("conversation", str(conversation_id)),
        replay=replay,
        skip=None,
    )
    at = conversation.assigned_at or conversation.created_at
    return found.pop(f"chat-{conversation_id}", conversation.queue, conversation.reason, None, at)


async def calls_in_progress(session: AsyncSession, agent: UserRecord) -> list[str]:
    """Calls offered to or answered by the agent and not yet ended (a reconnect gets them)."""
    return await contact_log.open_calls_for_agent(session, agent.id)
