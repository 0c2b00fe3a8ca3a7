"""The console's roles and the groups of them that rights are given to, named once."""

from __future__ import annotations

AGENT = "agent"
SUPERVISOR = "supervisor"
ADMIN = "admin"

# Every role, in the order forms and error messages list them.
ROLES: tuple[str, ...] = (AGENT, SUPERVISOR, ADMIN)
# Anyone signed in to the console: every role.
STAFF: frozenset[str] = frozenset(ROLES)
# Who supervises: watches queues, manages campaigns and tiers, reads the audit trail.
MANAGERS: frozenset[str] = frozenset({SUPERVISOR, ADMIN})
