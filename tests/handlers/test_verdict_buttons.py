"""Marketing's verdict buttons on rating posts, through signed requests to the running app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.cli import main
from handlers import ids
from handlers.errors import DATABASE_DOWN
from handlers.views.ratings import VERDICT_NOT_MARKETING, VERDICT_RATING_NOT_FOUND
from storage import roles as role_store
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating, RatingVerdict
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import HttpAnswer, SlackAppClient

TEAM = payloads.TEAM_ID
MARKETER = payloads.MARKETER_ID
RATER = payloads.RATER_ID
ANOTHER_REP = "U0SECONDREP"
WEEK = "2026-W45"  # the fake clock's week
SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "FEEDBACK_CHANNEL",
    "REPORT_CHANNEL",
    "SLACK_API_URL",
    "LEADLOOP_TZ",
    "ADMIN_USERS",
)


@pytest.fixture
def marketing(session_factory: SessionFactory, clock: FakeClock) -> str:
    """Marketing is known in the workspace: MARKETER has the role."""
    with session_factory() as session:
        role_store.give_role(
            session, team_id=TEAM, user_id=MARKETER, role="marketing", set_by="UADMIN", now=clock()
        )
        session.commit()
    return MARKETER


@pytest.fixture
def rating(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, marketing: str
) -> Rating:
    """A 2/5 rating by RATER, posted to the feedback channel."""
    slack.command("ACME-1042 2 no budget", response_url=fake_slack.response_url())
    with session_factory() as session:
        stored = session.exec(select(Rating)).one()
    assert stored.post_ts is not None
    return stored


@pytest.fixture
def cli_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Iterator[None]:
    """The CLI reads this test's database and no developer's settings."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    for name in SETTINGS_VARIABLES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    yield


def click(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    rating: Rating,
    action_id: str,
    *,
    user_id: str = MARKETER,
    value: str | None = None,
    team_id: str = TEAM,
) -> tuple[HttpAnswer, str]:
    """Click a verdict button on the rating's post; the answer and what the clicker was told."""
    response_url = fake_slack.response_url("verdict")
    answer = slack.interact(
        payloads.rating_post_click(
            action_id=action_id,
            value=str(rating.id) if value is None else value,
            post_ts=str(rating.post_ts),
            response_url=response_url,
            user_id=user_id,
            team_id=team_id,
        )
    )
    told = [
        str(call.params.get("text"))
        for call in fake_slack.calls_to("response_url")
        if response_url.endswith(call.path)
    ]
    return answer, "\n".join(told)


def dispute(
    slack: SlackAppClient, rating: Rating, reason: str | None, *, user_id: str = MARKETER
) -> HttpAnswer:
    """Submit the dispute form for the rating's post."""
    return slack.interact(
        payloads.dispute_submission(
            reason=reason, rating_id=str(rating.id), post_ts=str(rating.post_ts), user_id=user_id
        )
    )


def verdicts(session_factory: SessionFactory) -> list[tuple[str, str, str]]:
    with session_factory() as session:
        rows = session.exec(select(RatingVerdict).order_by(RatingVerdict.id)).all()
    return [(row.user_id, row.verdict, row.reason) for row in rows]


def post_updates(fake_slack: FakeSlack, rating: Rating) -> list[Call]:
    return [
        call
        for call in fake_slack.calls_to("chat.update")
        if (call.params["channel"], call.params["ts"]) == (rating.post_channel, rating.post_ts)
    ]


def shown(call: Call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)


def dms_to_rater(fake_slack: FakeSlack) -> list[Call]:
    return [
        call for call in fake_slack.calls_to("chat.postMessage") if call.params["channel"] == RATER
    ]


def outbox_kinds(session_factory: SessionFactory) -> list[str]:
    with session_factory() as session:
        return sorted(row.kind for row in session.exec(select(OutboxMessage)).all())


def loop_of_report(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["report", "--week", WEEK, "--json"]) == 0
    loop = json.loads(capsys.readouterr().out)["loop"]
    assert isinstance(loop, dict)
    return loop


def test_the_rating_post_carries_the_three_verdict_buttons_with_its_rating_id(
    fake_slack: FakeSlack, rating: Rating
) -> None:
    [post] = [
        call
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["channel"] == payloads.FEEDBACK_CHANNEL
    ]
    [actions] = [block for block in post.params["blocks"] if block["type"] == "actions"]
    buttons = [(button["action_id"], button["value"]) for button in actions["elements"]]
    assert buttons == [
        (ids.VERDICT_AGREE, str(rating.id)),
        (ids.VERDICT_DISPUTE, str(rating.id)),
        (ids.VERDICT_ACKNOWLEDGE, str(rating.id)),
    ]


@pytest.mark.usefixtures("cli_environment")
def test_marketing_agrees_in_one_click_stored_shown_on_the_post_and_counted_as_answered(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    rating: Rating,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert loop_of_report(capsys)["answered_pct"] == 0.0
    clock.advance(hours=3)

    answer, told = click(slack, fake_slack, rating, ids.VERDICT_AGREE)

    assert answer.status == 200
    assert verdicts(session_factory) == [(MARKETER, "agree", "")]
    assert "you agreed with the rating of *ACME-1042*" in told
    [update] = post_updates(fake_slack, rating)
    assert f"<@{MARKETER}> agreed" in shown(update)
    assert dms_to_rater(fake_slack) == []  # only a dispute tells the rater
    loop = loop_of_report(capsys)
    assert (loop["answered_pct"], loop["median_hours_to_first_answer"]) == (100.0, 3.0)


def test_a_double_click_stores_once_and_updates_the_post_once(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, rating: Rating
) -> None:
    click(slack, fake_slack, rating, ids.VERDICT_AGREE)
    _, told = click(slack, fake_slack, rating, ids.VERDICT_AGREE)

    assert verdicts(session_factory) == [(MARKETER, "agree", "")]
    assert "You already agreed with the rating of *ACME-1042*; nothing changed." in told
    assert len(post_updates(fake_slack, rating)) == 1
    assert outbox_kinds(session_factory) == ["rating_post", "rating_update"]


@pytest.mark.usefixtures("cli_environment")
def test_acknowledge_is_stored_and_shown_but_is_no_answer(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    rating: Rating,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, told = click(slack, fake_slack, rating, ids.VERDICT_ACKNOWLEDGE)

    assert verdicts(session_factory) == [(MARKETER, "acknowledge", "")]
    assert "It still waits for your answer" in told
    [update] = post_updates(fake_slack, rating)
    assert f"<@{MARKETER}> acknowledged" in shown(update)
    assert loop_of_report(capsys)["answered_pct"] == 0.0


def test_dispute_opens_the_form_and_a_missing_reason_is_flagged_in_it(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, rating: Rating
) -> None:
    click(slack, fake_slack, rating, ids.VERDICT_DISPUTE)

    [opened] = fake_slack.calls_to("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == ids.DISPUTE_MODAL
    assert json.loads(view["private_metadata"])["rating_id"] == rating.id
    assert verdicts(session_factory) == []

    for blank in (None, "   \n "):
        answer = dispute(slack, rating, blank)
        assert answer.json()["response_action"] == "errors"
        assert "Say why you dispute" in answer.json()["errors"][ids.DISPUTE_REASON_BLOCK]
    assert verdicts(session_factory) == []
    assert post_updates(fake_slack, rating) == []


def test_a_dispute_is_stored_shown_on_the_post_and_dms_the_rater_with_the_reason_once(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, rating: Rating
) -> None:
    reason = "They came from the <VIP> list & booked a demo"

    answer = dispute(slack, rating, reason)
    again = dispute(slack, rating, "a second submission")

    assert answer.json()["response_action"] == "update"
    assert "you disputed the rating of *ACME-1042*" in json.dumps(answer.json()["view"])
    assert "You already disputed" in json.dumps(again.json()["view"])
    assert verdicts(session_factory) == [(MARKETER, "dispute", reason)]
    [update] = post_updates(fake_slack, rating)
    assert f"<@{MARKETER}> disputed the rating" in shown(update)
    [dm] = dms_to_rater(fake_slack)
    assert f"<@{MARKETER}> disputed your 2/5 rating of *ACME-1042*" in shown(dm)
    assert "They came from the &lt;VIP&gt; list &amp; booked a demo" in shown(dm)


def test_a_rep_clicking_is_told_no_privately_and_nothing_changes(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, rating: Rating
) -> None:
    kinds_before = outbox_kinds(session_factory)
    for action_id in (ids.VERDICT_AGREE, ids.VERDICT_ACKNOWLEDGE, ids.VERDICT_DISPUTE):
        for user in (ANOTHER_REP, RATER):
            answer, told = click(slack, fake_slack, rating, action_id, user_id=user)
            assert answer.status == 200
            assert VERDICT_NOT_MARKETING in told
    refused = dispute(slack, rating, "sneaky", user_id=ANOTHER_REP)

    assert VERDICT_NOT_MARKETING in json.dumps(refused.json()["view"])
    assert fake_slack.calls_to("views.open") == []
    assert verdicts(session_factory) == []
    assert outbox_kinds(session_factory) == kinds_before
    assert post_updates(fake_slack, rating) == []


@pytest.mark.parametrize("value", ["999999", "abc", "", "-1", "1; DROP TABLE rating", "9" * 40])
def test_a_tampered_button_value_is_refused_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    rating: Rating,
    value: str,
) -> None:
    _, told = click(slack, fake_slack, rating, ids.VERDICT_AGREE, value=value)

    assert VERDICT_RATING_NOT_FOUND in told
    assert verdicts(session_factory) == []


def test_another_ratings_id_on_this_post_is_refused(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, rating: Rating
) -> None:
    slack.command(
        "ACME-2000 4 good fit", response_url=fake_slack.response_url(), user_id=ANOTHER_REP
    )
    with session_factory() as session:
        other = session.exec(select(Rating).where(Rating.id != rating.id)).one()

    _, told = click(slack, fake_slack, rating, ids.VERDICT_AGREE, value=str(other.id))

    assert VERDICT_RATING_NOT_FOUND in told
    assert verdicts(session_factory) == []


@pytest.mark.usefixtures("cli_environment")
def test_verdicts_are_exported_with_whether_they_answer(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    rating: Rating,
    capsys: pytest.CaptureFixture[str],
) -> None:
    click(slack, fake_slack, rating, ids.VERDICT_ACKNOWLEDGE)
    dispute(slack, rating, "=HYPERLINK(1)")
    capsys.readouterr()

    assert main(["export", "verdicts", "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert main(["export", "verdicts"]) == 0
    csv_text = capsys.readouterr().out

    assert [(row["verdict"], row["is_answer"], row["reason"]) for row in exported] == [
        ("acknowledge", False, ""),
        ("dispute", True, "=HYPERLINK(1)"),
    ]
    assert {row["lead_ref"] for row in exported} == {"ACME-1042"}
    assert {row["rating_id"] for row in exported} == {rating.id}
    assert csv_text.splitlines()[0] == (
        "id,team_id,rating_id,lead_ref,user_id,verdict,is_answer,reason,created_at"
    )
    assert "'=HYPERLINK(1)" in csv_text


def test_a_click_from_another_workspace_naming_this_ones_rating_is_refused(
    two_workspaces: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    two_workspaces.command("ACME-1042 2 no budget", response_url=fake_slack.response_url())
    with session_factory() as session:
        rating = session.exec(select(Rating)).one()
    assert rating.team_id == TEAM and rating.post_ts is not None

    # In the other workspace marketing is not known yet: anyone but a rater may answer
    # there, so only the workspace's own ratings stand between it and this one.
    for action_id in (ids.VERDICT_AGREE, ids.VERDICT_DISPUTE):
        _, told = click(
            two_workspaces,
            fake_slack,
            rating,
            action_id,
            user_id="UINTRUDER",
            team_id=payloads.OTHER_TEAM_ID,
        )
        assert VERDICT_RATING_NOT_FOUND in told
    refused = two_workspaces.interact(
        payloads.dispute_submission(
            reason="not yours",
            rating_id=str(rating.id),
            post_ts=str(rating.post_ts),
            user_id="UINTRUDER",
            team_id=payloads.OTHER_TEAM_ID,
        )
    )

    assert VERDICT_RATING_NOT_FOUND in json.dumps(refused.json()["view"])
    assert fake_slack.calls_to("views.open") == []
    assert verdicts(session_factory) == []
    assert post_updates(fake_slack, rating) == []


def test_when_the_database_refuses_the_write_the_marketer_is_told_nothing_was_saved(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    rating: Rating,
) -> None:
    with refusing_writes(engine):
        answer, told = click(slack, fake_slack, rating, ids.VERDICT_AGREE)
        form = dispute(slack, rating, "better than rated")

    assert answer.status == 200
    assert told == DATABASE_DOWN
    assert form.json()["response_action"] == "errors"
    assert "Not saved" in form.json()["errors"][ids.DISPUTE_REASON_BLOCK]
    assert verdicts(session_factory) == []
    assert post_updates(fake_slack, rating) == []
    assert dms_to_rater(fake_slack) == []
