"""Who runs a command, as the audit trail names them. A module of its own so that every
command can name its operator without importing another command's dependencies."""

from __future__ import annotations

import getpass
import os

from storage.users import Actor


def operator(via: str) -> Actor:
    """The operating-system user running the command, as `cli:<user>`."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid {os.getuid()}"
    return Actor(name=f"cli:{user}"[:128], via=via)
