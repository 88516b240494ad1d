"""User-group membership, read from Slack and cached for a few minutes per workspace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackClientError

from bot.team_clients import TeamClients

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300.0


@dataclass
class UsergroupCache:
    """Members of Slack user groups, per workspace, refreshed at most every ``ttl`` seconds."""

    clients: TeamClients
    ttl: float = CACHE_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, str], tuple[float, frozenset[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def members(self, usergroup: str, *, team_id: str) -> frozenset[str]:
        """The group's members; the last known list (or none) when Slack cannot answer."""
        now = self.monotonic()
        key = (team_id, usergroup)
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            client = self.clients.for_team(team_id)
            if client is None:
                return frozenset()
            users = client.usergroups_users_list(usergroup=usergroup).get("users") or []
        except (SlackClientError, OSError):
            logger.warning("could not read the members of user group %s", usergroup)
            return cached[1] if cached else frozenset()
        members = frozenset(str(user) for user in users)
        with self._lock:
            self._entries[key] = (now, members)
        return members
