"""Who is sales, marketing or admin: user groups from settings, roles given by command,
and ADMIN_USERS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from domain.admin.settings import WorkspaceSettings, workspace_settings
from storage import roles as store


class UsergroupMembers(Protocol):
    """Who is in a Slack user group (read from Slack by the shell, and cached)."""

    def members(self, usergroup: str, *, team_id: str) -> frozenset[str]:
        """The group's members; empty when they cannot be known."""
        ...


@dataclass(frozen=True)
class RoleDirectory:
    """Answers "is this person sales / marketing / admin?" in each workspace.

    ADMIN_USERS are admins everywhere; the user groups are each workspace's settings.
    """

    admin_users: frozenset[str]
    defaults: WorkspaceSettings
    usergroups: UsergroupMembers | None

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
