"""The test call `contactdesk demo` prints: a `curl` that rings a demo agent through the CTI
webhook, so that a newcomer sees a screen pop a minute after `make run`."""

from __future__ import annotations

import json
import shlex
import time

from handlers.demo import CUSTOMERS, TEST_CALL_AGENT
from handlers.demo_calls import HOTLINE

CALLER = CUSTOMERS[0]  # the VIP: the VIP line's rule sends her to the agent with that skill


def cti_curl(base_url: str, token: str, body: dict[str, str]) -> str:
    """One line to paste in a shell: POST the event as JSON with the CTI token."""
    return " ".join(
        [
            "curl -s -X POST",
            shlex.quote(f"{base_url.rstrip('/')}/telephony/cti"),
            "-H",
            shlex.quote(f"Authorization: Bearer {token}"),
            "-H 'Content-Type: application/json' -d",
            shlex.quote(json.dumps(body, ensure_ascii=False)),
        ]
    )


def instructions(base_url: str, token: str, call_id: str | None = None) -> str:
    """What to do to see a screen pop; a new call id each run, since a repeated id is the
    same call (its decision is answered again, nothing rings)."""
    call_id = call_id or f"demo-test-{int(time.time())}"
    ring = {"event": "newCall", "call_id": call_id, "from": CALLER.phone, "to": HOTLINE}
    hangup = {"event": "hangup", "call_id": call_id}
    base = base_url.rstrip("/")
    return "\n".join(
        [
            "",
            "See a screen pop:",
            f"  1. Open {base}/login and sign in as {TEST_CALL_AGENT} with the password above.",
            "     The demo leaves them Available (状态: 空闲, at the top of /agent); only an",
            "     available agent is offered calls, so leave it so.",
            f"  2. In another terminal, paste this: {CALLER.name}, a VIP, calls from {CALLER.phone}",
            "",
            cti_curl(base, token, ring),
            "",
            "  3. The caller's card pops up on /agent. To hang up (the agent is free again):",
            "",
            cti_curl(base, token, hangup),
            "",
        ]
    )
