"""``POST /webhooks/leads`` over real HTTP: signed leads stored once; refusals change nothing."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.server import DRAIN_LIMIT_BYTES
from domain.leads.webhook import WEBHOOK_OFF
from domain.leads.webhook_body import new_webhook_secret
from storage.engine import SessionFactory
from storage.models import CampaignOwner, Lead, OutboxMessage
from storage.workspaces import record_workspace, set_webhook_secret
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith
from tests.fake_slack import FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient, http_request

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
ANN = {
    "external_ref": "CRM-1",
    "name": "Ann Lee",
    "email": "ann@acme.example",
    "company": "Acme",
    "campaign": "Spring 2026",
    "source": "hubspot",
    "owner_slack_id": payloads.OWNER_ID,
    "marketing_notes": "Asked for a demo twice",
}
ADMIN = "UADMIN"
BO = {"external_ref": "CRM-2", "name": "Bo Chen", "email": "bo@acme.example"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with the webhook secret, a hand-off channel and an admin."""
    return replace(
        settings,
        lead_webhook_secret=payloads.LEAD_WEBHOOK_SECRET,
        handoff_channel=payloads.HANDOFF_CHANNEL,
        admin_users=frozenset({ADMIN}),
    )


@pytest.fixture
def app_client(settings: Settings, serve_with: ServeWith) -> Iterator[SlackAppClient]:
    """The app and its lead webhook, on one real HTTP server."""
    with serve_with(settings, lead_webhook=True) as client:
        yield client


@pytest.fixture
def webhook_url(app_client: SlackAppClient) -> str:
    return app_client.base_url + "/webhooks/leads"


@pytest.fixture
def executor(app_client: SlackAppClient) -> SlackAppClient:
    """The served app; tests wait until its work is done and the posts it owes are sent."""
    return app_client


@pytest.fixture
def workspace(session_factory: SessionFactory, clock: FakeClock) -> str:
    """The bot's workspace, recorded as ``leadloop run`` records it."""
    record(session_factory, clock, TEAM)
    return TEAM


def record(session_factory: SessionFactory, clock: FakeClock, team_id: str) -> None:
    with session_factory() as session:
        record_workspace(session, team_id=team_id, team_name=None, bot_user_id=None, now=clock())
        session.commit()


def post_leads(
    url: str,
    document: Any,
    executor: SlackAppClient,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timestamp: int | None = None,
) -> HttpAnswer:
    """POST leads signed as a CRM workflow signs them (at ``timestamp``, default now), then
    wait for the hand-offs to post."""
    raw = body if body is not None else json.dumps(document).encode()
    signed = headers or payloads.lead_webhook_headers(raw, timestamp=timestamp)
    answer = http_request(url, method="POST", body=raw, headers=signed)
    executor.wait_idle()
    return answer


def counted(
    *,
    created: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    stale: int = 0,
    replayed: bool = False,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The webhook's answer to a request it accepted."""
    return {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "stale": stale,
        "replayed": replayed,
        "errors": errors or [],
    }


def stored_leads(session_factory: SessionFactory, team_id: str = TEAM) -> dict[str, Lead]:
    with session_factory() as session:
        found = session.exec(select(Lead).where(Lead.team_id == team_id)).all()
    return {lead.external_ref: lead for lead in found}


def outbox_count(session_factory: SessionFactory) -> int:
    with session_factory() as session:
        return len(session.exec(select(OutboxMessage)).all())


def test_a_signed_lead_is_stored_and_handed_off_to_its_owner_and_the_channel(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    answer = post_leads(webhook_url, ANN, executor)

    assert (answer.status, answer.json()) == (200, counted(created=1))
    lead = stored_leads(session_factory)["CRM-1"]
    assert (lead.name, lead.owner_id, lead.source) == ("Ann Lee", payloads.OWNER_ID, "hubspot")
    assert lead.attributes == {"marketing_notes": "Asked for a demo twice"}
    posts = fake_slack.calls_to("chat.postMessage")
    assert [post.params["channel"] for post in posts] == [
        payloads.OWNER_ID,
        payloads.HANDOFF_CHANNEL,
    ]
    blocks = json.dumps(posts[0].params["blocks"])
    assert "CRM-1" in blocks and "Asked for a demo twice" in blocks


def test_a_list_and_the_zapier_wrapper_are_both_accepted(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    listed = post_leads(webhook_url, [ANN], executor)
    wrapped = post_leads(webhook_url, {"leads": [ANN, BO]}, executor)

    assert listed.json()["created"] == 1
    assert wrapped.json() == counted(created=1, unchanged=1)
    assert set(stored_leads(session_factory)) == {"CRM-1", "CRM-2"}


def test_sending_the_same_lead_again_stores_and_posts_nothing_new(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    now = int(time.time())
    post_leads(webhook_url, ANN, executor, timestamp=now - 1)
    posts = fake_slack.calls_to("chat.postMessage")

    again = post_leads(webhook_url, ANN, executor, timestamp=now)

    assert again.json() == counted(unchanged=1)
    assert len(stored_leads(session_factory)) == 1
    assert outbox_count(session_factory) == 1
    assert fake_slack.calls_to("chat.postMessage") == posts


def test_a_changed_lead_is_updated_without_a_second_handoff(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    post_leads(webhook_url, ANN, executor)

    answer = post_leads(webhook_url, {"external_ref": "CRM-1", "status": "won"}, executor)

    assert answer.json() == counted(updated=1)
    lead = stored_leads(session_factory)["CRM-1"]
    assert (lead.status, lead.name) == ("won", "Ann Lee")  # absent fields keep their value
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


# --- replays and order -------------------------------------------------------------------


def signed_request(document: Any, timestamp: int) -> tuple[bytes, dict[str, str]]:
    """A request as a CRM signs it at ``timestamp``, to send (and send again) as it is."""
    body = json.dumps(document).encode()
    return body, payloads.lead_webhook_headers(body, timestamp=timestamp)


def test_a_replayed_request_changes_nothing_and_says_so(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    now = int(time.time())
    first_body, first_headers = signed_request({**ANN, "name": "Ann Lee"}, now - 2)
    second_body, second_headers = signed_request({**ANN, "name": "Ann Lee-Park"}, now - 1)
    post_leads(webhook_url, None, executor, body=first_body, headers=first_headers)
    post_leads(webhook_url, None, executor, body=second_body, headers=second_headers)
    posts = fake_slack.calls_to("chat.postMessage")

    replay = post_leads(webhook_url, None, executor, body=first_body, headers=first_headers)

    assert (replay.status, replay.json()) == (200, counted(replayed=True))
    assert stored_leads(session_factory)["CRM-1"].name == "Ann Lee-Park"
    assert outbox_count(session_factory) == 1
    assert fake_slack.calls_to("chat.postMessage") == posts


def test_a_replay_of_a_new_lead_hands_it_off_once(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    body, headers = signed_request(ANN, int(time.time()))
    first = post_leads(webhook_url, None, executor, body=body, headers=headers)

    replay = post_leads(webhook_url, None, executor, body=body, headers=headers)

    assert first.json() == counted(created=1)
    assert replay.json() == counted(replayed=True)
    assert outbox_count(session_factory) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # the owner's DM and the channel


def test_an_update_signed_before_the_last_one_applied_is_ignored(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    now = int(time.time())
    post_leads(webhook_url, {**ANN, "name": "Ann Lee-Park"}, executor, timestamp=now)

    late = post_leads(webhook_url, [{**ANN, "name": "Ann Lee"}, BO], executor, timestamp=now - 60)

    assert (late.status, late.json()) == (200, counted(created=1, stale=1))
    leads = stored_leads(session_factory)
    assert leads["CRM-1"].name == "Ann Lee-Park"
    assert leads["CRM-2"].name == "Bo Chen"  # a lead the later request did not name


def test_updates_signed_in_the_same_second_apply_in_the_order_they_arrive(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    now = int(time.time())
    post_leads(webhook_url, ANN, executor, timestamp=now)

    answer = post_leads(webhook_url, {**ANN, "status": "won"}, executor, timestamp=now)

    assert answer.json() == counted(updated=1)
    assert stored_leads(session_factory)["CRM-1"].status == "won"


def test_a_request_replayed_into_another_workspace_changes_nothing_there(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    record(session_factory, clock, OTHER_TEAM)
    body, headers = signed_request(ANN, int(time.time()))
    post_leads(f"{webhook_url}?workspace={TEAM}", None, executor, body=body, headers=headers)

    replay = post_leads(
        f"{webhook_url}?workspace={OTHER_TEAM}", None, executor, body=body, headers=headers
    )

    assert replay.json() == counted(replayed=True)
    assert stored_leads(session_factory, OTHER_TEAM) == {}


def post_at_once(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> list[HttpAnswer]:
    """Send the requests from one thread each, released together."""
    start = threading.Barrier(len(requests))

    def send(request: tuple[bytes, dict[str, str]]) -> HttpAnswer:
        start.wait(timeout=10)
        return http_request(url, method="POST", body=request[0], headers=request[1])

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_identical_requests_at_the_same_moment_are_applied_once(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    now = int(time.time())
    for round_ in range(5):
        request = signed_request({**ANN, "external_ref": f"CRM-{round_}"}, now)

        answers = post_at_once(webhook_url, [request, request])
        executor.wait_idle()

        assert [answer.status for answer in answers] == [200, 200]
        assert sorted(answer.json()["replayed"] for answer in answers) == [False, True]
        assert sum(answer.json()["created"] for answer in answers) == 1
    assert set(stored_leads(session_factory)) == {f"CRM-{round_}" for round_ in range(5)}
    assert outbox_count(session_factory) == 5
    assert len(fake_slack.calls_to("chat.postMessage")) == 5 * 2


def test_an_older_update_racing_a_newer_one_never_wins(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    now = int(time.time())
    post_leads(webhook_url, [{**ANN, "external_ref": f"CRM-{n}"} for n in range(5)], executor)
    for round_ in range(5):
        ref = f"CRM-{round_}"
        older = signed_request({"external_ref": ref, "name": "v1", "status": "lost"}, now + 1)
        newer = signed_request({"external_ref": ref, "name": "v2"}, now + 2)

        answers = post_at_once(webhook_url, [older, newer] if round_ % 2 else [newer, older])

        assert [answer.status for answer in answers] == [200, 200]
    executor.wait_idle()
    leads = stored_leads(session_factory)
    assert {leads[f"CRM-{n}"].name for n in range(5)} == {"v2"}


def test_each_bad_lead_is_reported_and_the_good_ones_are_stored(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    answer = post_leads(webhook_url, [ANN, {"external_ref": "CRM-3", "email": "nope"}], executor)

    assert answer.status == 200
    body = answer.json()
    assert body["created"] == 1
    [error] = body["errors"]
    assert error["lead"] == 2 and error["message"].startswith("lead 2: email 'nope'")
    assert set(stored_leads(session_factory)) == {"CRM-1"}


def signed_with(secret: str) -> Any:
    return lambda body: payloads.lead_webhook_headers(body, secret=secret)


def signed_for(other_body: bytes) -> Any:
    return lambda body: payloads.lead_webhook_headers(other_body)


def signed_at(timestamp: int) -> Any:
    return lambda body: payloads.lead_webhook_headers(body, timestamp=timestamp)


@pytest.mark.parametrize(
    ("body", "headers_for", "status", "error"),
    [
        (
            json.dumps(ANN).encode(),
            lambda body: {"Content-Type": "application/json"},
            401,
            "missing signature",
        ),
        (
            json.dumps(ANN).encode(),
            signed_with("not-the-secret-0123456789"),
            401,
            "invalid signature",
        ),
        (json.dumps(ANN).encode(), signed_for(json.dumps(BO).encode()), 401, "invalid signature"),
        (json.dumps(ANN).encode(), signed_at(int(time.time()) - 10 * 60), 401, "stale timestamp"),
        (b'{"external_ref": "CRM-1",', payloads.lead_webhook_headers, 400, "body is not JSON"),
        (b"[]", payloads.lead_webhook_headers, 400, "no leads"),
        (json.dumps([ANN, "CRM-2"]).encode(), payloads.lead_webhook_headers, 400, "lead 2 is text"),
        (b'{"name": "no ref"}', payloads.lead_webhook_headers, 400, "no lead could be accepted"),
    ],
    ids=[
        "unsigned",
        "wrong-secret",
        "signature-of-another-body",
        "replayed",
        "malformed-json",
        "empty-list",
        "not-an-object",
        "no-valid-lead",
    ],
)
def test_a_refused_request_gets_a_json_error_and_changes_nothing(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    body: bytes,
    headers_for: Any,
    status: int,
    error: str,
) -> None:
    answer = post_leads(webhook_url, None, executor, body=body, headers=headers_for(body))

    assert answer.status == status
    assert error in answer.json()["error"]
    assert stored_leads(session_factory) == {}
    assert outbox_count(session_factory) == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_body_over_1_mb_is_refused_with_413(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    body = json.dumps({**ANN, "notes": "x" * 1_000_000}).encode()

    answer = post_leads(webhook_url, None, executor, body=body)

    assert (answer.status, answer.json()) == (413, {"error": "body too large"})
    assert stored_leads(session_factory) == {}


def raw_post(url: str, head: bytes, body: bytes) -> bytes:
    """Send a hand-made request and return the whole answer."""
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + body)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_huge_declared_body_is_answered_413_without_reading_all_of_it(
    workspace: str, webhook_url: str
) -> None:
    head = (
        b"POST /webhooks/leads HTTP/1.1\r\nHost: leadloop\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n\r\n"
    )

    # Only the drain limit is sent: the server must answer without waiting for the rest.
    answer = raw_post(webhook_url, head, b"x" * DRAIN_LIMIT_BYTES)

    assert answer.startswith(b"HTTP/1.0 413") or answer.startswith(b"HTTP/1.1 413")
    assert answer.endswith(b'{"error": "body too large"}')


def test_a_request_without_content_length_is_refused_with_400(
    workspace: str, webhook_url: str, session_factory: SessionFactory
) -> None:
    head = (
        b"POST /webhooks/leads HTTP/1.0\r\nHost: leadloop\r\nContent-Type: application/json\r\n\r\n"
    )

    answer = raw_post(webhook_url, head, b"")

    assert b" 400 " in answer.split(b"\r\n")[0]
    assert b"Content-Length header required" in answer
    assert stored_leads(session_factory) == {}


def test_the_workspace_in_the_query_picks_one_of_several(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    record(session_factory, clock, OTHER_TEAM)

    ambiguous = post_leads(webhook_url, ANN, executor)
    chosen = post_leads(f"{webhook_url}?workspace={OTHER_TEAM}", ANN, executor)

    assert ambiguous.status == 400
    assert "several workspaces" in ambiguous.json()["error"]
    assert "?workspace=" in ambiguous.json()["error"]
    assert chosen.json()["created"] == 1
    assert set(stored_leads(session_factory, OTHER_TEAM)) == {"CRM-1"}
    assert stored_leads(session_factory, TEAM) == {}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?workspace=T0NOPE", "T0NOPE is not a workspace"),
        ("?workspace=nope", "not a Slack workspace ID"),
    ],
    ids=["unknown", "malformed"],
)
def test_an_unknown_workspace_is_refused_with_400(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    query: str,
    error: str,
) -> None:
    answer = post_leads(webhook_url + query, ANN, executor)

    assert answer.status == 400
    assert error in answer.json()["error"]
    assert stored_leads(session_factory) == {}


def test_without_a_recorded_workspace_the_webhook_asks_for_one(
    webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    answer = post_leads(webhook_url, ANN, executor)

    assert answer.status == 400
    assert "has not recorded its Slack workspace" in answer.json()["error"]


def test_a_webhook_into_one_workspace_never_touches_anothers_lead(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    record(session_factory, clock, OTHER_TEAM)
    post_leads(f"{webhook_url}?workspace={TEAM}", ANN, executor)

    answer = post_leads(
        f"{webhook_url}?workspace={OTHER_TEAM}", {**ANN, "name": "Somebody Else"}, executor
    )

    assert answer.json()["created"] == 1
    assert stored_leads(session_factory, TEAM)["CRM-1"].name == "Ann Lee"
    assert stored_leads(session_factory, OTHER_TEAM)["CRM-1"].name == "Somebody Else"


def test_only_post_is_accepted(workspace: str, webhook_url: str) -> None:
    answer = http_request(webhook_url)

    assert (answer.status, answer.json()) == (405, {"error": "send the leads with POST"})


def test_without_any_secret_the_webhook_says_how_to_turn_it_on(
    workspace: str, settings: Settings, serve_with: ServeWith, session_factory: SessionFactory
) -> None:
    unset = replace(settings, lead_webhook_secret=None)
    with serve_with(unset, lead_webhook=True) as client:
        answer = post_leads(client.base_url + "/webhooks/leads", ANN, client.executor)

    assert (answer.status, answer.json()) == (404, {"error": WEBHOOK_OFF})
    assert stored_leads(session_factory) == {}


def give_own_secret(session_factory: SessionFactory, clock: FakeClock, team_id: str) -> str:
    secret = new_webhook_secret()
    with session_factory() as session:
        set_webhook_secret(session, team_id=team_id, secret=secret, now=clock())
        session.commit()
    return secret


def signed_with(secret: str, document: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document).encode()
    return body, payloads.lead_webhook_headers(body, secret=secret)


def test_a_workspace_with_its_own_secret_accepts_only_that_one(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    own = give_own_secret(session_factory, clock, TEAM)

    body, headers = signed_with(payloads.LEAD_WEBHOOK_SECRET, ANN)
    with_deployment_secret = post_leads(webhook_url, ANN, executor, body=body, headers=headers)
    body, headers = signed_with(own, BO)
    with_own_secret = post_leads(webhook_url, BO, executor, body=body, headers=headers)

    assert (with_deployment_secret.status, with_deployment_secret.json()) == (
        401,
        {"error": "invalid signature"},
    )
    assert with_own_secret.json()["created"] == 1
    assert set(stored_leads(session_factory)) == {"CRM-2"}


def test_one_workspaces_secret_cannot_send_leads_into_another(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    record(session_factory, clock, OTHER_TEAM)
    own = give_own_secret(session_factory, clock, TEAM)
    others = give_own_secret(session_factory, clock, OTHER_TEAM)

    answers = [
        post_leads(f"{webhook_url}?workspace={team}", ANN, executor, body=body, headers=headers)
        for team, secret in ((OTHER_TEAM, own), (TEAM, others))
        for body, headers in [signed_with(secret, ANN)]
    ]

    assert [answer.status for answer in answers] == [401, 401]
    assert stored_leads(session_factory, TEAM) == stored_leads(session_factory, OTHER_TEAM) == {}


def test_a_workspace_without_its_own_secret_keeps_the_deployments(
    workspace: str,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    record(session_factory, clock, OTHER_TEAM)
    give_own_secret(session_factory, clock, TEAM)

    answer = post_leads(f"{webhook_url}?workspace={OTHER_TEAM}", ANN, executor)

    assert answer.json()["created"] == 1
    assert set(stored_leads(session_factory, OTHER_TEAM)) == {"CRM-1"}


def leadloop_webhook(app_client: SlackAppClient, fake_slack: FakeSlack, words: str) -> str:
    """An admin's ``/leadloop webhook ...``, answered privately in the ack."""
    answer = app_client.command(
        f"webhook {words}".strip(),
        response_url=fake_slack.response_url(),
        command="/leadloop",
        user_id=ADMIN,
    )
    return str(answer.json()["text"])


def test_an_admins_new_secret_signs_the_webhook_until_they_go_back_to_the_default(
    workspace: str,
    app_client: SlackAppClient,
    webhook_url: str,
    executor: SlackAppClient,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
) -> None:
    shown = leadloop_webhook(app_client, fake_slack, "new")
    secret = re.findall(r"llwh_[0-9a-f]{64}", shown)
    assert len(secret) == 1, shown
    body, headers = signed_with(secret[0], ANN)
    with_own_secret = post_leads(webhook_url, ANN, executor, body=body, headers=headers)
    refused_before = post_leads(webhook_url, BO, executor)  # the deployment's secret

    leadloop_webhook(app_client, fake_slack, "default")
    accepted_after = post_leads(webhook_url, BO, executor)
    body, headers = signed_with(secret[0], ANN)
    old_own_secret = post_leads(webhook_url, ANN, executor, body=body, headers=headers)

    assert with_own_secret.json()["created"] == 1
    assert (refused_before.status, accepted_after.status, old_own_secret.status) == (
        401,
        200,
        401,
    )
    assert set(stored_leads(session_factory)) == {"CRM-1", "CRM-2"}


def test_a_lead_naming_its_campaigns_owner_gives_the_campaign_that_owner(
    workspace: str, webhook_url: str, executor: SlackAppClient, session_factory: SessionFactory
) -> None:
    owned = {**ANN, "campaign_owner_slack_id": "<@U0MARIA|maria>"}
    refused = {**BO, "campaign": "Fall 2026", "campaign_owner_slack_id": "maria"}

    answer = post_leads(webhook_url, [owned, refused], executor)

    assert answer.status == 200
    [error] = answer.json()["errors"]
    assert "campaign_owner_slack_id 'maria' is not a Slack user ID" in error["message"]
    with session_factory() as session:
        owners = {row.campaign: row.owner_id for row in session.exec(select(CampaignOwner))}
    assert owners == {"Spring 2026": "U0MARIA"}
    assert stored_leads(session_factory)["CRM-1"].attributes == {
        "marketing_notes": "Asked for a demo twice"
    }
