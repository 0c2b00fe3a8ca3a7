"""`/agent/ws`: the agent console's socket. It pushes the agent's own screen pops and call
ends, their chats (`chat_offered` with the card, `chat_message`, `chat_delivery`,
`chat_closed`), their availability whenever the server changes it (a call offered or ended, another
tab, a supervisor), and the calls waiting in the queues they serve. The events come through
the application's one dispatcher (callcenter/agent_dispatch.py), which wakes this socket only
for what concerns it.

On opening it sends the pops of calls still in progress, the availability and the queue
panel, so a page that reconnects after a gap shows the server's state again."""

from __future__ import annotations

from aiohttp import web

from callcenter import agent_views
from callcenter.agent_dispatch import AGENT_DISPATCH, Inbox
from callcenter.auth import credential, require_user
from callcenter.console_sockets import Sender, open_socket, serve
from callcenter.keys import SESSIONS
from callcenter.web_security import check_origin
from handlers import screen_pop
from handlers.errors import SignedOut
from handlers.inbox import lifecycle, messages
from handlers.roles import STAFF
from storage.users import UserRecord


class AgentFeed:
    """What one agent's socket pushes, from its inbox."""

    def __init__(
        self, request: web.Request, user: UserRecord, sender: Sender, inbox: Inbox, replayed: set[str]
    ) -> None:
        self.request = request
        self.user = user
        self.sender = sender
        self.inbox = inbox
        # Pops already sent as replays when the socket opened.
        self.replayed = replayed

    async def pops(self) -> None:
        while True:
            event = await self.inbox.calls.get()
            call_id = str(event.get("call_id"))
            # A call offered while the socket was opening is both replayed and announced (the
            # inbox opens first so that nothing is missed): one pop is enough.
            if event["type"] == "call_offered" and call_id in self.replayed:
                self.replayed.discard(call_id)
                continue
            if event["type"] == "call_ended":
                # A call id, no customer's data: like the availability and the queue panel it
                # relies on the socket's periodic sign-in check (a check here cost 5 % of a
                # loaded instance's CPU, issue 17).
                await self.sender.send({"type": "call_ended", "call_id": call_id})
                continue
            # A pop reads (and audits) the customer's record: the card's reading checks the
            # sign-in first (on PostgreSQL within the card's one statement).
            try:
                pop = await agent_views.card(
                    self.request, self.user, call_id, via="ws", credential=await credential(self.request)
                )
            except SignedOut:
                await self.sender.close_signed_out()
                return
            await self.sender.send(pop)

    async def chats(self) -> None:
        """The agent's chats: an offer with the card, messages both ways, the delivery of
        each reply, and a chat leaving them (closed or transferred)."""
        while True:
            event = await self.inbox.chats.get()
            kind = event.get("type")
            conversation_id = int(event["conversation_id"])
            if kind == "chat_offered":
                try:
                    offered = await agent_views.chat_offered(
                        self.request,
                        self.user,
                        conversation_id,
                        via="ws",
                        credential=await credential(self.request),
                    )
                except SignedOut:
                    await self.sender.close_signed_out()
                    return
                await self.sender.send(offered)
            elif kind == "chat_message":
                if await self.sender.signed_out():
                    return
                async with self.request.app[SESSIONS]() as session:
                    message = await messages.message(session, int(event["message_id"]))
                if message is not None:
                    await self.sender.send(agent_views.chat_message(message))
            elif kind == "chat_delivery":
                await self.sender.send(
                    {
                        "type": "chat_delivery",
                        "conversation_id": conversation_id,
                        "message_id": event["message_id"],
                        "state": event["state"],
                    }
                )
            elif kind == "chat_closed":
                await self.sender.send(
                    {"type": "chat_closed", "conversation_id": conversation_id, "reason": event.get("reason")}
                )

    async def availability(self) -> None:
        while True:
            await self.inbox.state_moved.wait()
            self.inbox.state_moved.clear()
            # The agent's own state, no customer's data: like the queue panel, it relies on
            # the socket's periodic sign-in check (each call moves it twice).
            await self.sender.send(await agent_views.availability(self.request, self.user))

    async def queue_panel(self) -> None:
        """The panel whenever the dispatcher found that what it shows has changed."""
        while True:
            await self.inbox.panel_moved.wait()
            self.inbox.panel_moved.clear()
            served = self.inbox.panel
            if served is None:
                continue
            # Counts of calls, no customer's data: the socket's periodic sign-in check is
            # enough, and spares a check per agent each time the floor moves.
            await self.sender.send(await agent_views.queue_panel(self.request, self.user, served))


async def agent_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    user = await require_user(request, *STAFF)  # 401 before the upgrade
    dispatch = request.app[AGENT_DISPATCH]
    await dispatch.listening()  # 503 before the upgrade
    socket = await open_socket(request)
    sender = Sender(request, socket)
    # The inbox opens before the replay is read, so that nothing is missed; its first panel
    # comes from the dispatcher, so that pops need not wait for it.
    with dispatch.inbox(user) as inbox:
        # A reconnecting agent gets the pops of calls still in progress.
        async with request.app[SESSIONS]() as session:
            in_progress = await screen_pop.calls_in_progress(session, user)
        feed = AgentFeed(request, user, sender, inbox, set(in_progress))
        for call_id in in_progress:
            await sender.send(await agent_views.card(request, user, call_id, via="ws", replay=True))
        # And the chats they hold, each with its card.
        async with request.app[SESSIONS]() as session:
            held = await lifecycle.held_by(session, user)
        for conversation in held:
            await sender.send(
                await agent_views.chat_offered(request, user, conversation.id, via="ws", replay=True)
            )
        await sender.send(await agent_views.availability(request, user))
        await serve(request, socket, feed.pops(), feed.chats(), feed.availability(), feed.queue_panel())
    return socket
