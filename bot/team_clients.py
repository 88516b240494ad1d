"""Which Slack client speaks for which workspace.

With one bot token (single-workspace mode) every workspace gets the same client. Installed
through OAuth, each workspace has its own bot token in slack-sdk's installation store; a
workspace without one (never installed, or uninstalled) gets None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

# Tokens change on reinstall; forgetting every client now and then keeps the cache small.
MAX_CACHED_CLIENTS = 1000


class TeamClients(Protocol):
    """Gives the client that acts in a workspace."""

    def for_team(self, team_id: str) -> WebClient | None:
        """The workspace's client, or None when leadloop has no token there."""
        ...


@dataclass(frozen=True)
class OneWorkspace:
    """Single-workspace mode: SLACK_BOT_TOKEN's client everywhere."""

    client: WebClient

    def for_team(self, team_id: str) -> WebClient | None:
        return self.client


@dataclass
class InstalledWorkspaces:
    """OAuth mode: each workspace's bot token, read from the installation store."""

    installation_store: InstallationStore
    make_client: Callable[[str], WebClient]
    _clients: dict[str, WebClient] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def for_team(self, team_id: str) -> WebClient | None:
        bot = self.installation_store.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            return None
        with self._lock:
            client = self._clients.get(bot.bot_token)
            if client is None:
                if len(self._clients) >= MAX_CACHED_CLIENTS:
                    self._clients.clear()
                client = self._clients[bot.bot_token] = self.make_client(bot.bot_token)
        return client
