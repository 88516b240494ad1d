"""What a sender is given and gives back: one claimed message, and what records its result.

A sender reads what its message needs, calls Slack, and returns a ``Recorder``: the engine
runs it in a transaction of its own once Slack has the post, with the outbox row marked
sent. No database transaction stays open during a Slack call: on SQLite a writer holds the
only write lock, and a slow Slack would hold up every rating meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlmodel import Session

from domain.admin.settings import WorkspaceSettings
from domain.clock import Clock
from storage.engine import only_reading
from storage.models import Lead, OutboxMessage, Rating
from storage.ratings import get_rating_with_lead

Recorder = Callable[[Session], None]


def nothing_to_record(session: Session) -> None:
    """For posts whose success changes nothing but the outbox row itself."""


class Undeliverable(Exception):
    """The row the message is about is gone; nothing can ever be sent for it."""


class Unconfigured(Exception):
    """A setting the message needs is missing; it waits until an admin sets it."""


class Permalinker(Protocol):
    """Links to a message (in a thread, when ``thread_ts`` is given), or None."""

    def __call__(self, channel: str, ts: str, thread_ts: str | None = None) -> str | None: ...


@dataclass
class TeamUrls:
    """Each workspace's URL, from auth.test asked once per workspace (no API call per link)."""

    _urls: dict[str, str] = field(default_factory=dict)

    def linker(self, team_id: str, client: WebClient) -> Permalinker:
        """Builds links to the workspace's messages, like Slack's own permalinks.

        Without the workspace's URL, links are None.
        """
        base = self._urls.get(team_id)
        if base is None:
            try:
                base = self._urls[team_id] = str(client.auth_test().get("url") or "")
            except (SlackClientError, OSError):
                base = ""

        def permalink(channel: str, ts: str, thread_ts: str | None = None) -> str | None:
            if not base:
                return None
            link = f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
            return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts else link

        return permalink


@dataclass
class OnceOnly:
    """Remembers what was already said, so a warning about a lasting state is logged once."""

    _said: set[Hashable] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen (by any thread), False after that."""
        with self._lock:
            if key in self._said:
                return False
            self._said.add(key)
            return True


@dataclass(frozen=True)
class Job:
    """One claimed message, with the client and settings of its workspace."""

    message: OutboxMessage
    client: WebClient
    settings: WorkspaceSettings
    session_factory: Callable[[], Session]
    clock: Clock
    team_urls: TeamUrls
    # An earlier claim of the message ran out unreleased: its post may be in Slack already.
    lapsed: bool = False
    # The deliverer's warnings said once (e.g. that a workspace's history can't be read).
    warned: OnceOnly = field(default_factory=OnceOnly)

    @property
    def team_id(self) -> str:
        return self.message.team_id

    def permalinker(self) -> Permalinker:
        """Links into this workspace; may ask Slack, so call it outside any session."""
        return self.team_urls.linker(self.team_id, self.client)

    def reading(self) -> Session:
        """A session for what a sender reads: on SQLite it never takes the write lock, which
        the processes answering Slack need for every rating they store."""
        session = self.session_factory()
        only_reading(session)
        return session

    def rating_and_lead(self) -> tuple[Rating, Lead]:
        """The rating the message is about, with its lead; Undeliverable if it is gone."""
        with self.reading() as session:
            loaded = get_rating_with_lead(
                session, team_id=self.team_id, rating_id=self.message.rating_id or -1
            )
        if loaded is None:
            raise Undeliverable(f"rating {self.message.rating_id} no longer exists")
        return loaded


Sender = Callable[[Job], Recorder]
