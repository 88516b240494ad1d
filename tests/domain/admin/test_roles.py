"""Roles from user groups (cached), commands and ADMIN_USERS; what counts as an answer."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.team_clients import OneWorkspace
from bot.usergroups import UsergroupCache
from domain.admin.roles import RoleDirectory
from domain.admin.settings import WorkspaceSettings
from storage.engine import SessionFactory
from storage.roles import give_role
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack


def test_roles_come_from_groups_commands_and_admin_users(
    session_factory: SessionFactory, fake_slack: FakeSlack, web_client: WebClient, clock: FakeClock
) -> None:
    fake_slack.usergroups["S0SALES"] = ["UREP1"]
    directory = RoleDirectory(
        admin_users=frozenset({"UBOSS"}),
        defaults=WorkspaceSettings(sales_usergroup="S0SALES"),
        usergroups=UsergroupCache(OneWorkspace(web_client)),
    )
    with session_factory() as session:
        give_role(
            session,
            team_id=payloads.TEAM_ID,
            user_id="UMKT1",
            role="marketing",
            set_by="UBOSS",
            now=clock(),
        )
        session.commit()
        roles = {
            user: directory.roles_of(session, team_id=payloads.TEAM_ID, user_id=user)
            for user in ("UREP1", "UMKT1", "UBOSS", "UNOBODY")
        }
        other_team = directory.roles_of(session, team_id=payloads.OTHER_TEAM_ID, user_id="UMKT1")

    assert roles == {
        "UREP1": {"sales"},
        "UMKT1": {"marketing"},
        "UBOSS": {"admin"},
        "UNOBODY": set(),
    }
    assert other_team == set()


def test_only_marketings_replies_count_once_marketing_is_known(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    directory = RoleDirectory(frozenset(), WorkspaceSettings(), None)
    with session_factory() as session:
        before = directory.counts_as_answer(
            session, team_id=payloads.TEAM_ID, user_id="USOMEONE", rater_id="UREP1"
        )
        own = directory.counts_as_answer(
            session, team_id=payloads.TEAM_ID, user_id="UREP1", rater_id="UREP1"
        )
        give_role(
            session,
            team_id=payloads.TEAM_ID,
            user_id="UMKT1",
            role="marketing",
            set_by="UBOSS",
            now=clock(),
        )
        after_someone = directory.counts_as_answer(
            session, team_id=payloads.TEAM_ID, user_id="USOMEONE", rater_id="UREP1"
        )
        after_marketer = directory.counts_as_answer(
            session, team_id=payloads.TEAM_ID, user_id="UMKT1", rater_id="UREP1"
        )

    assert (before, own, after_someone, after_marketer) == (True, False, False, True)
