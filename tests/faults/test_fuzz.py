"""Hostile input, through the real app over signed HTTP: every slash command, every button,
every form, malformed and oversized bodies.

Whatever arrives, the app must answer Slack without a 5xx, never show a traceback to anyone
(in its HTTP answers or in anything it sends to Slack), never fail a listener on input a
user can type, and never leave a write half done. One app per test function; what each
example checks is reset between examples.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.config import Settings
from bot.server import MAX_BODY_BYTES
from domain.meetings.parse import AddMeeting
from domain.meetings.reminders import create_meeting, rule_of
from domain.outbox_kinds import MEETING_REMINDER
from domain.ratings.parse import REASON_TAGS
from handlers import ids
from handlers.errors import DATABASE_DOWN, SOMETHING_BROKE
from storage import scheduled_posts
from storage.engine import SessionFactory, database_answers
from storage.models import AgendaItem, Lead, Meeting, OutboxMessage, Rating, Response
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, serve_app
from tests.fake_slack import Call, FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient, http_request

# No shrinking: a failure is reported as first found, which keeps a failing run as quick
# as a passing one (a listener that fails after ack() costs Bolt's 3 s ack timeout each).
FUZZ = settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"
COMMANDS = (ids.RATE_LEAD_COMMAND, ids.MEETING_COMMAND, ids.KPI_COMMAND, ids.ADMIN_COMMAND)
# The score buttons share one listener, matched on the HANDOFF_SCORE prefix: the tests add
# a suffix ("_1" … "_5", or anything else).
ACTION_IDS = (
    ids.MEETING_ADD_AGENDA,
    ids.MEETING_SNOOZE,
    ids.HANDOFF_SCORE,
    ids.HANDOFF_REASON,
    ids.HOME_RATE_LEAD,
    ids.HOME_REPORT,
    ids.HOME_MEETINGS,
)
CALLBACK_IDS = (ids.RATING_MODAL, ids.AGENDA_MODAL)

# Strings that have broken parsers, databases and chat apps before.
HOSTILE = (
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\x07bell",
    "\x1b[31mred",
    "\u202eevil",
    "\ufeffbom",
    "💥🔥",
    "'; DROP TABLE rating; --",
    "<!channel>",
    "<!here|here>",
    "<@U0BADBAD|admin>",
    "<#C0BAD|general>",
    "&lt;&gt;&amp;",
    "%s%n%x",
    "{}",
    "[]",
    "null",
    "\\",
    '"',
    '"unterminated',
    "*_~`>",
    "\r\n\r\n",
    "\t",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "../../etc/passwd",
    "x" * 3000,
    "9" * 400,
    "²",
    "١٢٣",
    "Ⅻ",
    "-0",
    "1e309",
    "nan",
    "-inf",
    "0x1F",
    "2147483648",
    "99999999999999999999",
)
# Numbers that pass str.isdigit() but break int() or the database's integer columns.
NOT_AN_INT_BUT_ISDIGIT = "²"
BEYOND_INT4 = "2147483648"
BEYOND_BIGINT = "99999999999999999999"
HOSTILE_TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80))
JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def slot(*expected: str) -> st.SearchStrategy[str]:
    """A word where the grammar expects one of ``expected``, or hostile text instead."""
    return st.one_of(st.sampled_from(expected), st.sampled_from(expected), HOSTILE_TEXT)


def maybe(words: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An optional part of a sentence."""
    return st.one_of(st.just(""), words)


def sentence(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Words in order, blanks left out."""
    return st.tuples(*parts).map(lambda words: " ".join(word for word in words if word))


WEEKS = slot("W45", "2026-W53", "2026-W00", "9999-W01", "0001-W01", "last", "this", "2026-W1")
GRAMMARS: dict[str, st.SearchStrategy[str]] = {
    ids.RATE_LEAD_COMMAND: st.one_of(
        sentence(
            slot("ACME-1042", '"Acme Corp"', "LEAD-7", '"a ""quoted"" lead"'),
            slot("1", "2", "3", "4", "5", "5/5", "0", "6", "-1", "2.5"),
            st.one_of(HOSTILE_TEXT, st.text(min_size=1990, max_size=2010)),
        ),
        slot("help"),
    ),
    ids.MEETING_COMMAND: st.one_of(
        sentence(
            st.just("add"),
            slot("daily", "weekdays", "weekly", "mon", "mon-fri", "sun-mon", "biweekly tue"),
            slot("10:00", "9:30", "2:30pm", "0:00", "23:59", "12am", "25:61"),
            maybe(slot("<#C0SALES|sales>", "#sales", "<#CMEETINGS>")),
            HOSTILE_TEXT,
            maybe(sentence(st.just("--remind"), slot("30m", "1h", "0m", "24h", "25h", "1h30m"))),
        ),
        sentence(slot("skip", "pause", "resume", "remove"), slot("1", "#1", "2", "0", "999999999")),
        slot("list", "help"),
    ),
    ids.KPI_COMMAND: st.one_of(
        sentence(
            st.just("set"),
            slot("conv", "cac", "rev", "ret", "roi"),
            slot("12.5%", "0.125", "$1,200", "1.2k", "3.4M", "1e308", "-5", "0"),
            maybe(WEEKS),
        ),
        sentence(
            st.just("target"),
            slot("conv", "cac", "rev", "ret", "roi"),
            slot("200%", "+20%", "-15%", "$1,200", "0"),
            maybe(sentence(st.just("from"), WEEKS)),
        ),
        sentence(slot("show"), maybe(WEEKS)),
        sentence(st.just("schedule"), slot("fri", "mon", "sunday"), slot("16:30", "9:00", "24:00")),
        slot("help", "chart last"),
    ),
    ids.ADMIN_COMMAND: st.one_of(
        sentence(
            st.just("role"),
            slot("<@U0SOMEONE>", "<@U0SOMEONE|bob>", f"<@{payloads.RATER_ID}>", "@bob"),
            slot("sales", "marketing", "admin", "none"),
        ),
        slot("roles", "help"),
    ),
}


def command_text(command: str) -> st.SearchStrategy[str]:
    """What people type: the command's own grammar with hostile words in it, or anything."""
    return st.one_of(GRAMMARS[command], GRAMMARS[command], st.text(max_size=300))


# --- the app, its seeded data, and what each example checks ----------------------------


@dataclass(frozen=True)
class Seeded:
    """Objects that buttons and forms can name: a lead, a meeting and its reminder."""

    lead_id: int
    meeting_id: int
    reminder_id: int

    def ids_and_junk(self) -> st.SearchStrategy[str]:
        """Button values and form metadata: real ids, near-misses, and hostile text."""
        real = [str(self.lead_id), str(self.meeting_id), str(self.reminder_id)]
        near = [
            f"{self.lead_id}:3",
            f"{self.lead_id}:9",
            f"{self.lead_id}:",
            f"{self.lead_id}:{self.lead_id}",
            ":3",
            "0",
            "00",
            "-1",
            f"0{self.lead_id}",
            f" {self.meeting_id}",
            f"{self.meeting_id}.0",
            "1:²",
            "²",
            "١",
            "2147483648",
            "9223372036854775808",
            "99999999999999999999",
        ]
        return st.one_of(st.sampled_from(real + near), HOSTILE_TEXT)


@pytest.fixture
def seeded(session_factory: SessionFactory, clock: FakeClock) -> Seeded:
    """A lead, a meeting and a reminder already posted for it, in the test's workspace."""
    with session_factory() as session:
        lead = get_or_create_lead(
            session, team_id=payloads.TEAM_ID, external_ref="SEEDED-1", now=clock()
        )
        meeting = create_meeting(
            session,
            team_id=payloads.TEAM_ID,
            request=AddMeeting(
                weekdays=frozenset(range(7)),
                every_weeks=1,
                local_time=time(10, 0),
                channel=None,
                title="Sync",
                remind=timedelta(minutes=15),
            ),
            channel_id="CMEETINGS",
            timezone="UTC",
            user_id=payloads.RATER_ID,
            now=clock(),
        )
        occurrence = clock().replace(hour=10, minute=0, second=0, microsecond=0)
        reminder = scheduled_posts.claim_occurrence(
            session,
            team_id=payloads.TEAM_ID,
            kind=MEETING_REMINDER,
            subject_id=meeting.id or -1,
            occurrence_at=occurrence,
            due_at=occurrence - timedelta(minutes=15),
            status=scheduled_posts.POSTED,
            now=clock(),
        )
        session.commit()
        assert lead.id and meeting.id and reminder and reminder.id
        return Seeded(lead_id=lead.id, meeting_id=meeting.id, reminder_id=reminder.id)


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    session_factory: SessionFactory,
    web_client: WebClient,
    clock: FakeClock,
) -> Iterator[SlackAppClient]:
    """The real app, run by an admin, so that admin-only commands parse and store too."""
    admin_settings = replace(settings, admin_users=frozenset({payloads.RATER_ID}))
    with serve_app(
        admin_settings,
        session_factory=session_factory,
        client=web_client,
        clock=clock,
        is_healthy=lambda: database_answers(engine),
    ) as client:
        yield client


@dataclass
class Watch:
    """What one example did: the Slack calls and log records since ``reset``."""

    fake: FakeSlack
    caplog: pytest.LogCaptureFixture
    session_factory: SessionFactory
    exempt_leads: frozenset[int] = frozenset()
    _calls_seen: int = 0
    _records_seen: int = 0

    def reset(self) -> None:
        """Forget what earlier examples did."""
        self._calls_seen = len(self.fake.calls)
        self._records_seen = len(self.caplog.records)

    def calls(self) -> list[Call]:
        """Slack calls made since the last reset."""
        return list(self.fake.calls[self._calls_seen :])

    def check(self, answer: HttpAnswer, *, listener_may_fail: bool = False) -> None:
        """No 5xx, no traceback anywhere, no failed listener, nothing half written."""
        assert answer.status < 500, (answer.status, answer.body[:500])
        assert "Traceback" not in answer.body.decode("utf-8", "replace")
        for call in self.calls():
            if call.method == "response_url" or call.method.startswith(("chat.", "views.")):
                sent = json.dumps(call.params)
                assert "Traceback" not in sent and 'File "' not in sent, (call.method, sent[:500])
                if not listener_may_fail:
                    assert SOMETHING_BROKE not in sent, (call.method, sent[:300])
                assert DATABASE_DOWN not in sent, (call.method, sent[:300])  # it is up
        if not listener_may_fail:
            failures = [
                f"{record.name}: {record.getMessage()}\n{record.exc_text or ''}"
                for record in self.caplog.records[self._records_seen :]
                if record.levelno >= logging.ERROR
            ]
            assert not failures, failures[0][-1500:]
        assert half_written(self.session_factory, exempt_leads=self.exempt_leads) == []


@pytest.fixture
def watch(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, session_factory: SessionFactory
) -> Watch:
    """Per-example checks on the app's answers, its Slack calls, its log and its database."""
    caplog.set_level(logging.WARNING)
    return Watch(fake_slack, caplog, session_factory)


def half_written(session_factory: SessionFactory, *, exempt_leads: frozenset[int]) -> list[str]:
    """Rows that only make sense with others that are missing, or that cannot be read back."""
    problems: list[str] = []
    with session_factory() as session:
        lead_ids = set(session.exec(select(Lead.id)).all())
        ratings = session.exec(select(Rating)).all()
        rating_ids = {rating.id for rating in ratings}
        posts_owed = set(
            session.exec(
                select(OutboxMessage.rating_id).where(OutboxMessage.kind == "rating_post")
            ).all()
        )
        rated_leads = {rating.lead_id for rating in ratings}
        problems += [f"rating {r.id} has no lead" for r in ratings if r.lead_id not in lead_ids]
        problems += [f"rating {r.id} has no post owed" for r in ratings if r.id not in posts_owed]
        problems += [
            f"lead {lead_id} was stored without its rating"
            for lead_id in lead_ids - rated_leads - exempt_leads
        ]
        for response in session.exec(select(Response)).all():
            if response.rating_id not in rating_ids:
                problems.append(f"response {response.id} has no rating")
        for message in session.exec(
            select(OutboxMessage).where(col(OutboxMessage.rating_id).is_not(None))
        ).all():
            if message.rating_id not in rating_ids:
                problems.append(f"outbox message {message.id} has no rating")
        meeting_ids = set(session.exec(select(Meeting.id)).all())
        for item in session.exec(select(AgendaItem)).all():
            if item.meeting_id not in meeting_ids:
                problems.append(f"agenda item {item.id} has no meeting")
        for meeting in session.exec(select(Meeting)).all():
            try:
                rule_of(meeting).describe()
                ZoneInfo(meeting.timezone)
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                problems.append(f"meeting {meeting.id} cannot be read back: {error!r}")
    return problems


def answered_somehow(answer: HttpAnswer, calls: list[Call]) -> bool:
    """The user saw something: the ack's text, a message, or a form."""
    if answer.body.strip():
        return True
    return any(
        call.method in {"response_url", "views.open", "chat.postEphemeral", "chat.postMessage"}
        for call in calls
    )


# --- slash commands --------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_slash_command_answers_hostile_text_with_a_message_never_an_error(
    command: str, app: SlackAppClient, fake_slack: FakeSlack, watch: Watch
) -> None:
    @FUZZ
    @given(text=command_text(command))
    def run(text: str) -> None:
        watch.reset()
        answer = app.command(text, command=command, response_url=fake_slack.response_url())

        assert answer.status == 200
        watch.check(answer)
        assert answered_somehow(answer, watch.calls()), text

    run()


# --- buttons and forms with hostile values ---------------------------------------------


@pytest.mark.parametrize("action_id", ACTION_IDS)
def test_every_button_handles_hostile_values_without_errors_or_partial_writes(
    action_id: str, app: SlackAppClient, fake_slack: FakeSlack, watch: Watch, seeded: Seeded
) -> None:
    watch.exempt_leads = frozenset({seeded.lead_id})

    suffixes, pinned = st.just(""), ""
    if action_id == ids.HANDOFF_SCORE:
        scores = st.one_of(st.sampled_from("12345"), st.text(max_size=8))
        suffixes, pinned = scores.map(lambda score: f"_{score}"), "_3"

    @FUZZ
    @given(
        value=seeded.ids_and_junk(),
        team_id=st.sampled_from((payloads.TEAM_ID, payloads.OTHER_TEAM_ID)),
        user_id=st.sampled_from((payloads.RATER_ID, payloads.MARKETER_ID, "U0NEWCOMER")),
        suffix=suffixes,
    )
    @example(
        value=NOT_AN_INT_BUT_ISDIGIT,
        team_id=payloads.TEAM_ID,
        user_id=payloads.RATER_ID,
        suffix=pinned,
    )
    @example(
        value=BEYOND_BIGINT, team_id=payloads.TEAM_ID, user_id=payloads.RATER_ID, suffix=pinned
    )
    def run(value: str, team_id: str, user_id: str, suffix: str) -> None:
        watch.reset()
        answer = app.interact(
            payloads.handoff_click(
                action_id=action_id + suffix,
                value=value,
                team_id=team_id,
                user_id=user_id,
                response_url=fake_slack.response_url("click"),
            )
        )

        assert answer.status == 200
        watch.check(answer)

    run()


def rating_form() -> st.SearchStrategy[dict[str, Any]]:
    """Rating-form submissions: valid, invalid and hostile field values."""
    scores = st.one_of(
        st.sampled_from(("1", "2", "3", "4", "5", "0", "6", "five", "3.0", "²")), HOSTILE_TEXT
    )
    return st.builds(
        payloads.view_submission,
        lead=st.one_of(st.none(), st.sampled_from(("ACME-1", "SEEDED-1")), HOSTILE_TEXT),
        score=st.one_of(st.none(), scores),
        tags=st.lists(st.one_of(st.sampled_from(sorted(REASON_TAGS)), HOSTILE_TEXT), max_size=4),
        reason=st.one_of(st.none(), HOSTILE_TEXT),
        team_id=st.sampled_from((payloads.TEAM_ID, payloads.OTHER_TEAM_ID)),
        origin_channel=st.one_of(st.none(), st.just(payloads.SALES_CHANNEL), HOSTILE_TEXT),
    )


def agenda_form(seeded: Seeded) -> st.SearchStrategy[dict[str, Any]]:
    """Agenda-form submissions naming real, foreign and nonsense meetings."""
    return st.builds(
        payloads.agenda_submission,
        meeting_id=seeded.ids_and_junk(),
        text=st.one_of(st.none(), HOSTILE_TEXT),
        team_id=st.sampled_from((payloads.TEAM_ID, payloads.OTHER_TEAM_ID)),
    )


@pytest.mark.parametrize("callback_id", CALLBACK_IDS)
def test_every_form_handles_hostile_values_without_errors_or_partial_writes(
    callback_id: str, app: SlackAppClient, watch: Watch, seeded: Seeded
) -> None:
    watch.exempt_leads = frozenset({seeded.lead_id})
    forms = {ids.RATING_MODAL: rating_form(), ids.AGENDA_MODAL: agenda_form(seeded)}
    valid = {
        ids.RATING_MODAL: payloads.view_submission,
        ids.AGENDA_MODAL: lambda: payloads.agenda_submission(meeting_id="1", text="Pricing"),
    }[callback_id]

    @FUZZ
    @given(
        submission=forms[callback_id],
        metadata=st.one_of(st.none(), seeded.ids_and_junk()),
    )
    @example(submission=valid(), metadata=NOT_AN_INT_BUT_ISDIGIT)
    @example(submission=valid(), metadata=BEYOND_BIGINT)
    @example(submission=valid(), metadata=BEYOND_INT4)
    def run(submission: dict[str, Any], metadata: str | None) -> None:
        watch.reset()
        if metadata is not None:  # whatever the form carried back, tampered with
            submission["view"]["private_metadata"] = metadata
        answer = app.interact(submission)

        assert answer.status == 200, (answer.status, answer.body[:300])
        watch.check(answer)
        if answer.body.strip():
            assert answer.json().get("response_action") in {None, "errors", "clear", "update"}

    run()


# --- payloads with missing keys and wrong types ----------------------------------------


@st.composite
def broken(draw: st.DrawFn, template: Any) -> Any:
    """``template`` with keys dropped and values replaced by junk of any type, anywhere."""
    if isinstance(template, dict):
        result = {}
        for key, value in template.items():
            fate = draw(st.sampled_from(("keep", "keep", "dig", "dig", "drop", "junk")))
            if fate == "keep":
                result[key] = value
            elif fate == "dig":
                result[key] = draw(broken(value))
            elif fate == "junk":
                result[key] = draw(JUNK)
        return result
    if isinstance(template, list):
        return [draw(broken(item)) for item in template if draw(st.integers(0, 4))]
    return draw(st.one_of(st.just(template), JUNK))


def routed(payload: Any, template: dict[str, Any]) -> Any:
    """Put back what Bolt routes on, so the broken payload still reaches a listener."""
    if not isinstance(payload, dict):
        return payload
    payload["type"] = template["type"]
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        actions[0]["action_id"] = template["actions"][0]["action_id"]
    view = payload.get("view")
    if isinstance(view, dict) and "view" in template:
        view["callback_id"] = template["view"]["callback_id"]
    return payload


def template_for(name: str, seeded: Seeded, response_url: str) -> dict[str, Any]:
    """A valid payload for an action_id or a callback_id."""
    if name == ids.RATING_MODAL:
        return payloads.view_submission(lead="ACME-1", score="3", tags=["wrong_fit"])
    if name == ids.AGENDA_MODAL:
        return payloads.agenda_submission(meeting_id=str(seeded.meeting_id), text="Pricing")
    if name == ids.HANDOFF_SCORE:
        return payloads.handoff_click(
            action_id=f"{name}_3", value=f"{seeded.lead_id}:3", response_url=response_url
        )
    return payloads.handoff_click(
        action_id=name, value=str(seeded.lead_id), response_url=response_url
    )


@pytest.mark.parametrize("name", ACTION_IDS + CALLBACK_IDS)
def test_payloads_with_missing_keys_and_wrong_types_never_get_a_5xx_or_a_traceback(
    name: str, app: SlackAppClient, fake_slack: FakeSlack, watch: Watch, seeded: Seeded
) -> None:
    watch.exempt_leads = frozenset({seeded.lead_id})
    template = template_for(name, seeded, fake_slack.response_url("broken"))

    @FUZZ
    @given(payload=broken(template))
    def run(payload: Any) -> None:
        watch.reset()
        payload = routed(payload, template)
        answer = app.interact(payload)

        # Slack never sends these; a listener may give up, but only with a friendly note,
        # and never by raising after ack(): Bolt then answers 404 "unhandled request".
        watch.check(answer, listener_may_fail=True)
        if reaches_listener(payload):
            assert answer.status != 404, answer.body

    run()


def reaches_listener(payload: Any) -> bool:
    """Whether Bolt can route the payload to a listener (its routing keys are intact)."""
    if not isinstance(payload, dict):
        return False
    actions = payload.get("actions")
    if payload["type"] == "block_actions":
        return (
            isinstance(actions, list)
            and bool(actions)
            and isinstance(actions[0], dict)
            and isinstance(actions[0].get("action_id"), str)
        )
    view = payload.get("view")
    return isinstance(view, dict) and isinstance(view.get("callback_id"), str)


# --- malformed and oversized bodies ----------------------------------------------------


def sign_bytes(body: bytes, *, content_type: str) -> dict[str, str]:
    """Slack's signature over raw bytes (which need not be valid UTF-8)."""
    stamp = str(int(datetime.now(UTC).timestamp()))
    digest = hmac.new(
        payloads.SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256
    )
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def body_case(content_type: str, body: bytes, name: str) -> Any:
    """One malformed body, named for the test id."""
    return pytest.param(content_type, body, id=name)


# Bodies nothing can be read from: not UTF-8, not JSON, or JSON that is not an object.
UNREADABLE_BODIES = [
    body_case("application/json", b"{not json", "json-syntax-error"),
    body_case("application/json", b"[]", "json-array"),
    body_case("application/json", b"null", "json-null"),
    body_case("application/json", b'"just a string"', "json-string"),
    body_case("application/json", b"\xff\xfe\x00garbage", "json-not-utf8"),
    body_case(FORM, b"\xff\xfe\xfd", "form-not-utf8"),
    body_case(FORM, b"payload=", "payload-empty"),
    body_case(FORM, b"payload=%7Bnot+json", "payload-syntax-error"),
    body_case(FORM, b"payload=null", "payload-null"),
    body_case(FORM, b"payload=%5B%5D", "payload-array"),
    body_case(FORM, b"payload=%22string%22", "payload-string"),
    body_case(FORM, b"payload=%FF%FE", "payload-not-utf8"),
]
# Bodies that parse but miss what Slack always sends, or carry it with the wrong type.
INCOMPLETE_BODIES = [
    body_case("application/json", b"", "json-empty"),
    body_case("application/json", b'{"type": "event_callback"}', "event-without-event"),
    body_case(
        "application/json", b'{"type": "event_callback", "event": "text"}', "event-not-object"
    ),
    body_case("application/json", b'{"type": "url_verification"}', "challenge-missing"),
    body_case(FORM, b"", "form-empty"),
    body_case(FORM, b"payload=%7B%7D", "payload-object-empty"),
    body_case(FORM, b"payload=%7B%22type%22%3A%22block_actions%22%7D", "actions-missing"),
    body_case(
        FORM,
        b"payload=%7B%22type%22%3A%22view_submission%22%2C%22view%22%3A7%7D",
        "view-not-object",
    ),
    body_case(FORM, b"command=%2Frate-lead", "command-only"),
    body_case(FORM, b"command=%2Frate-lead&text=ACME-1+3", "command-without-user"),
    body_case(FORM, b"%%%=&&&", "form-garbage"),
    body_case("text/plain", b"hello", "text-plain"),
    body_case("multipart/form-data; boundary=x", b"--x\r\nnot really\r\n--x--", "multipart"),
]


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_BODIES)
def test_unreadable_bodies_with_a_valid_signature_get_a_4xx(
    app: SlackAppClient, watch: Watch, content_type: str, body: bytes
) -> None:
    watch.reset()
    answer = http_request(
        app.events_url,
        method="POST",
        body=body,
        headers=sign_bytes(body, content_type=content_type),
    )
    app.wait_idle()

    assert 400 <= answer.status < 500, (answer.status, answer.body)
    watch.check(answer, listener_may_fail=True)


@pytest.mark.parametrize(("content_type", "body"), INCOMPLETE_BODIES)
def test_incomplete_bodies_with_a_valid_signature_never_get_a_5xx(
    app: SlackAppClient, watch: Watch, content_type: str, body: bytes
) -> None:
    watch.reset()
    answer = http_request(
        app.events_url,
        method="POST",
        body=body,
        headers=sign_bytes(body, content_type=content_type),
    )
    app.wait_idle()

    watch.check(answer, listener_may_fail=True)


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_BODIES + INCOMPLETE_BODIES)
def test_malformed_bodies_without_a_signature_are_refused_with_401(
    app: SlackAppClient, watch: Watch, content_type: str, body: bytes
) -> None:
    watch.reset()
    answer = http_request(
        app.events_url, method="POST", body=body, headers={"Content-Type": content_type}
    )
    app.wait_idle()

    assert answer.status == 401, (answer.status, answer.body)
    watch.check(answer)


@given(body=st.binary(max_size=400), content_type=st.sampled_from((FORM, "application/json")))
@FUZZ
def test_random_bytes_with_a_valid_signature_never_get_a_5xx(
    app: SlackAppClient, watch: Watch, body: bytes, content_type: str
) -> None:
    watch.reset()
    answer = http_request(
        app.events_url,
        method="POST",
        body=body,
        headers=sign_bytes(body, content_type=content_type),
    )
    app.wait_idle()

    watch.check(answer, listener_may_fail=True)


@pytest.mark.parametrize("content_type", [FORM, "application/json"])
@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 3 * MAX_BODY_BYTES])
def test_bodies_over_one_megabyte_are_refused_with_413_and_change_nothing(
    app: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    content_type: str,
    size: int,
) -> None:
    command = payloads.slash_command("ACME-1 3 padded", response_url=fake_slack.response_url())
    command["text"] += " " + "x" * size
    body = urlencode(command).encode() if content_type == FORM else json.dumps(command).encode()
    answer = http_request(
        app.events_url,
        method="POST",
        body=body,
        headers=sign_bytes(body, content_type=content_type),
    )

    assert answer.status == 413
    with session_factory() as session:
        assert session.exec(select(Rating)).all() == []
    assert [call.method for call in fake_slack.calls if call.method != "auth.test"] == []


# --- payload structure: a node of another JSON type, anywhere ---------------------------

# One small value of each JSON type; a node is replaced by one of the types it is not.
JSON_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "object": st.one_of(
        st.just({}),
        st.dictionaries(st.sampled_from(("id", "type", "action_id", "x")), JUNK, max_size=2),
    ),
    "list": st.one_of(st.just([]), st.lists(JUNK, min_size=1, max_size=2)),
    "string": st.one_of(st.sampled_from(("", "x", "block_actions", "message")), HOSTILE_TEXT),
    "number": st.one_of(st.integers(-(2**63), 2**63), st.floats(allow_nan=False)),
    "null": st.none(),
    "bool": st.booleans(),
}


def kind_of(value: Any) -> str:
    """The JSON type of ``value``."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "null" if value is None else "number"


Path = tuple[str | int, ...]


def node_paths(node: Any, path: Path = ()) -> list[Path]:
    """The path of every node under ``node``, ``node`` itself first."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += node_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += node_paths(value, (*path, index))
    return found


def replaced(node: Any, path: Path, value: Any) -> Any:
    """``node`` with the node at ``path`` replaced by ``value`` (unchanged if it is gone)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict) and isinstance(head, str) and head in node:
        return {**node, head: replaced(node[head], rest, value)}
    if isinstance(node, list) and isinstance(head, int) and head < len(node):
        return [*node[:head], replaced(node[head], rest, value), *node[head + 1 :]]
    return node


def node_at(node: Any, path: Path) -> Any:
    """The node at ``path``; raises when it is not there."""
    for step in path:
        node = node[step]
    return node


@st.composite
def restructured(draw: st.DrawFn, template: Any) -> Any:
    """``template`` with one to three nodes, at any depth, replaced by another JSON type."""
    paths = node_paths(template)
    result = template
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        try:
            kind = kind_of(node_at(result, path))
        except (KeyError, IndexError, TypeError):  # an earlier replacement took it away
            continue
        other = draw(st.sampled_from(sorted(set(JSON_KINDS) - {kind})))
        result = replaced(result, path, draw(JSON_KINDS[other]))
    return result


def form_text(value: Any) -> str:
    """A form field can only carry text: what a value of any JSON type turns into."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else json.dumps(value)


def form_encoded(fields: Any) -> str:
    """A slash command's form: a list becomes a repeated field, an object bracketed fields."""
    if not isinstance(fields, dict):
        return form_text(fields)
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if isinstance(value, list):
            pairs += [(key, form_text(item)) for item in value]
        elif isinstance(value, dict):
            pairs += [(f"{key}[{name}]", form_text(item)) for name, item in value.items()]
        elif value is not None:
            pairs.append((key, form_text(value)))
    return urlencode(pairs)


def structure_templates(kind: str, seeded: Seeded, response_url: str) -> list[dict[str, Any]]:
    """Valid payloads of one type leadloop handles, one for each listener of that type."""
    if kind == "command":
        return [
            payloads.slash_command("ACME-1 3 fine", command=command, response_url=response_url)
            for command in COMMANDS
        ]
    if kind == "block_actions":
        return [template_for(name, seeded, response_url) for name in ACTION_IDS]
    if kind == "view_submission":
        return [template_for(name, seeded, response_url) for name in CALLBACK_IDS]
    events = {
        "message": payloads.thread_reply(thread_ts="1700000000.000100", ts="1700000001.000200"),
        "app_home_opened": {
            "type": "app_home_opened",
            "user": payloads.RATER_ID,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1700000002.000300",
        },
        "app_uninstalled": {"type": "app_uninstalled", "event_ts": "1700000003.000400"},
        "tokens_revoked": {
            "type": "tokens_revoked",
            "tokens": {"oauth": [payloads.RATER_ID], "bot": ["UBOT"]},
            "event_ts": "1700000004.000500",
        },
    }
    return [payloads.event_callback(events[kind], event_id="Ev0STRUCTURE")]


def tracebacks_logged(caplog: pytest.LogCaptureFixture, since: int) -> list[str]:
    """Log records since ``since`` that carry a traceback."""
    return [
        f"{record.levelname} {record.name}: {record.getMessage()}\n{record.exc_text or ''}"
        for record in caplog.records[since:]
        if record.exc_info or record.exc_text or "Traceback" in record.getMessage()
    ]


STRUCTURE = settings(FUZZ, max_examples=60)
PAYLOAD_TYPES = (
    "command",
    "block_actions",
    "view_submission",
    "message",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
)


@pytest.mark.parametrize("kind", PAYLOAD_TYPES)
def test_signed_payloads_of_any_structure_get_a_4xx_never_a_5xx_or_a_traceback(
    kind: str,
    app: SlackAppClient,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    seeded: Seeded,
) -> None:
    caplog.set_level(logging.WARNING)
    templates = structure_templates(kind, seeded, fake_slack.response_url("shape"))
    event_ids = iter(range(1_000_000))

    @STRUCTURE
    @given(payload=st.sampled_from(templates).flatmap(restructured))
    def run(payload: Any) -> None:
        since = len(caplog.records)
        if kind == "command":
            body, content_type = form_encoded(payload), FORM
        elif kind in {"block_actions", "view_submission"}:
            body, content_type = urlencode({"payload": json.dumps(payload)}), FORM
        else:  # a new event_id each time, unless it is the node replaced
            if isinstance(payload, dict) and payload.get("event_id") == "Ev0STRUCTURE":
                payload["event_id"] = f"Ev0STRUCTURE{next(event_ids)}"
            body, content_type = json.dumps(payload), "application/json"
        answer = app.post_signed(body, content_type=content_type)

        assert answer.status < 500, (answer.status, answer.body[:300], body[:500])
        assert "Traceback" not in answer.body.decode("utf-8", "replace")
        tracebacks = tracebacks_logged(caplog, since)
        assert not tracebacks, (body[:500], tracebacks[0][-2000:])

    run()
