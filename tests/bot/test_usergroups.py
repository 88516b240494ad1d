"""User-group membership read from Slack and cached (bot/usergroups.py)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.team_clients import OneWorkspace
from bot.usergroups import UsergroupCache
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_usergroup_members_are_cached_and_refreshed_after_the_ttl(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    fake_slack.usergroups["S0MKT"] = ["UMKT1"]
    ticks = Ticks()
    cache = UsergroupCache(OneWorkspace(web_client), ttl=300, monotonic=ticks)

    first = cache.members("S0MKT", team_id=payloads.TEAM_ID)
    fake_slack.usergroups["S0MKT"] = ["UMKT1", "UMKT2"]
    cached = cache.members("S0MKT", team_id=payloads.TEAM_ID)
    ticks.now += 301
    refreshed = cache.members("S0MKT", team_id=payloads.TEAM_ID)

    assert (first, cached, refreshed) == (
        frozenset({"UMKT1"}),
        frozenset({"UMKT1"}),
        frozenset({"UMKT1", "UMKT2"}),
    )
    assert len(fake_slack.calls_to("usergroups.users.list")) == 2


def test_usergroup_cache_keeps_the_last_known_members_when_slack_fails(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    fake_slack.usergroups["S0MKT"] = ["UMKT1"]
    ticks = Ticks()
    cache = UsergroupCache(OneWorkspace(web_client), ttl=10, monotonic=ticks)
    cache.members("S0MKT", team_id=payloads.TEAM_ID)
    ticks.now += 11
    fake_slack.fail_next("usergroups.users.list", error="ratelimited")

    assert cache.members("S0MKT", team_id=payloads.TEAM_ID) == frozenset({"UMKT1"})
