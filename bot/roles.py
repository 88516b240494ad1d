"""Who is sales, marketing or admin: user groups from settings, roles given by command,
and ADMIN_USERS. User-group membership is read from Slack and cached for a few minutes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackClientError
from sqlmodel import Session

from bot.team_clients import TeamClients
from bot.workspace_settings import WorkspaceSettings, workspace_settings
from storage import roles as store

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


@dataclass(frozen=True)
class RoleDirectory:
    """Answers "is this person sales / marketing / admin?" in each workspace.

    ADMIN_USERS are admins everywhere; the user groups are each workspace's settings.
    """

    admin_users: frozenset[str]
    defaults: WorkspaceSettings
    usergroups: UsergroupCache | None

    def roles_of(self, session: Session, *, team_id: str, user_id: str) -> set[str]:
        """Every role the person has, from any source."""
        roles = store.roles_given(session, team_id=team_id, user_id=user_id)
        if user_id in self.admin_users:
            roles.add(store.ADMIN)
        groups = self._usergroups(session, team_id=team_id)
        for role, group in (
            (store.SALES, groups.sales_usergroup),
            (store.MARKETING, groups.marketing_usergroup),
        ):
            if (
                group
                and self.usergroups
                and user_id in self.usergroups.members(group, team_id=team_id)
            ):
                roles.add(role)
        return roles

    def _usergroups(self, session: Session, *, team_id: str) -> WorkspaceSettings:
        return workspace_settings(session, team_id=team_id, defaults=self.defaults)

    def is_admin(self, session: Session, *, team_id: str, user_id: str) -> bool:
        """Admins may set KPIs, change others' meetings and give roles."""
        return store.ADMIN in self.roles_of(session, team_id=team_id, user_id=user_id)

    def marketing_is_known(self, session: Session, *, team_id: str) -> bool:
        """Whether anyone at all is known to be marketing in this workspace."""
        if self._usergroups(session, team_id=team_id).marketing_usergroup:
            return True
        return bool(store.members_with_role(session, team_id=team_id, role=store.MARKETING))

    def counts_as_answer(
        self, session: Session, *, team_id: str, user_id: str, rater_id: str
    ) -> bool:
        """Whether a thread reply answers the rating on marketing's behalf.

        With marketing known (a user group or roles given), only marketing's replies count;
        without, any reply from someone other than the rater does.
        """
        if not self.marketing_is_known(session, team_id=team_id):
            return user_id != rater_id
        roles = self.roles_of(session, team_id=team_id, user_id=user_id)
        return store.MARKETING in roles
