"""The post-call survey: after a caller talked with an agent, ask for a CSAT score on the
same call (IVR), in the caller's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import surveys
from storage import customers as customers_repo
from storage.routing import contact_log


@dataclass(frozen=True)
class CallSurvey:
    survey_id: int
    language: str


async def after_queue(session: AsyncSession, call_id: str, *, bridged: bool) -> CallSurvey | None:
    """The caller left the queue: a survey when they reached an agent (`bridged`) and are a
    known customer, else None. The platform may report this twice; the call id keeps it to
    one survey (`external_ref`), the same one both times."""
    if not bridged:
        return None
    contact = await contact_log.get_contact(session, "phone", call_id)
    if contact is None or contact.customer_id is None:
        return None
    customer = await customers_repo.get(session, contact.customer_id, details=False)
    language = (customer.language if customer else None) or "zh"
    survey = await surveys.queue_survey(
        session,
        customer_id=contact.customer_id,
        kind="csat",
        trigger="call",
        channel="phone",
        contact_id=contact.id,
        agent_id=contact.agent_id,
        external_ref=f"twilio:{call_id}",
    )
    await session.commit()
    return CallSurvey(survey.id, language)
