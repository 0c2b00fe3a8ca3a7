"""The last step of a chat's complaint flow: the complaint is lodged and the conversation ends
in one transaction. Either both happen or neither: a customer whose complaint could not be
saved is still at the confirm step and may confirm again, and one who saw "lodged" cannot
lodge the same complaint twice by pressing confirm again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import complaints
from handlers.complaints import ComplaintPolicy
from storage import telegram as conversations_repo
from storage.complaints import ComplaintView


async def lodge_and_end_conversation(
    session: AsyncSession,
    conversation: str,
    *,
    keep: Mapping[str, Any],
    customer_id: int,
    category: str,
    description: str,
    channel: str,
    attachments: Sequence[str],
    policy: ComplaintPolicy,
) -> ComplaintView:
    """Lodge the complaint and reset the conversation `conversation` (its key) to no state,
    with only `keep` (e.g. the chosen language) left of its data; commits both at once."""
    complaint = await complaints.record(
        session,
        customer_id=customer_id,
        category=category,
        description=description,
        channel=channel,
        attachments=attachments,
        policy=policy,
    )
    await conversations_repo.write_conversation(
        session, conversation, state=None, data=dict(keep), set_state=True, set_data=True
    )
    await session.commit()
    return complaint
