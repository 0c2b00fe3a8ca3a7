"""Use cases for customers who write to us in a chat (Telegram today): who they are, their
language and their consent to marketing. Channel-neutral: the chat user id is a string."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import customers
from handlers.customers import NewCustomer
from handlers.errors import Conflict, NotFound
from handlers.identities import normalise_phone
from storage import customers as repo
from storage.customers import CustomerRecord, Identity


@dataclass(frozen=True)
class Linked:
    customer: CustomerRecord
    created: bool  # a prospect was created for an unknown number


async def _reload(session: AsyncSession, customer_id: int) -> CustomerRecord:
    record = await repo.get(session, customer_id)
    if record is None:
        raise NotFound("no such customer", customer_id=customer_id)
    return record


async def customer_for_chat(session: AsyncSession, kind: str, chat_user_id: str) -> CustomerRecord | None:
    return await customers.identify(session, kind, chat_user_id)


async def link_by_phone(
    session: AsyncSession,
    kind: str,
    chat_user_id: str,
    phone: str,
    *,
    name: str = "",
    language: str | None = None,
    region: str = "CN",
) -> Linked:
    """The chat user shared their own phone: join the chat to that customer, or create a
    prospect for a number we do not know. One person stays one customer."""
    number = normalise_phone(phone, region)
    by_phone = await customers.identify(session, "phone", number, region=region)
    by_chat = await customers.identify(session, kind, chat_user_id, region=region)
    if by_phone is not None:
        if by_chat is not None and by_chat.id != by_phone.id:
            raise Conflict(
                "this chat is already linked to another customer", error_id="chat-linked-elsewhere"
            )
        if by_chat is None:
            await repo.add_identity(session, by_phone.id, Identity(kind, chat_user_id))
        if language and not by_phone.language:
            await repo.update_fields(session, by_phone.id, language=language)
        await session.commit()
        return Linked(await _reload(session, by_phone.id), created=False)
    if by_chat is not None:
        await repo.add_identity(session, by_chat.id, Identity("phone", number))
        await session.commit()
        return Linked(await _reload(session, by_chat.id), created=False)
    created = await customers.create_customer(
        session,
        None,
        NewCustomer(
            name=name,
            phones=(number,),
            language=language,
            attributes={"prospect": True},
            **{"telegram_id": chat_user_id} if kind == "telegram" else {},
        ),
        region=region,
    )
    return Linked(created, created=True)


async def set_language(session: AsyncSession, customer_id: int, language: str) -> None:
    await repo.update_fields(session, customer_id, language=language)
    await session.commit()


async def set_marketing_consent(session: AsyncSession, customer_id: int, *, opted_out: bool) -> None:
    """/stop and /start: campaigns respect it; service messages about the customer's own
    complaints still go out."""
    await repo.update_fields(session, customer_id, marketing_opt_out=opted_out)
    await session.commit()
