"""aiogram FSM storage in the database: conversation state survives restarts and is shared
by every instance behind the load balancer (aiogram's MemoryStorage is per process)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import conversations


def _key(key: StorageKey) -> str:
    return ":".join(
        str(part)
        for part in (
            key.bot_id,
            key.chat_id,
            key.user_id,
            key.thread_id,
            key.business_connection_id,
            key.destiny,
        )
    )


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._sessions() as session:
            await conversations.save_state(session, _key(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._sessions() as session:
            state, _ = await conversations.read(session, _key(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._sessions() as session:
            await conversations.save_data(session, _key(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._sessions() as session:
            _, data = await conversations.read(session, _key(key))
        return data

    async def close(self) -> None:
        return None


def conversation_key(key: StorageKey) -> str:
    """The row a conversation is kept in, for a use case that ends it in its own transaction."""
    return _key(key)
