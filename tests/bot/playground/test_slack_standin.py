"""The playground's stand-in for the Slack Web API, in memory: the methods leadloop calls
answer as Slack does, and what was posted is kept for the page."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.playground.slack_standin import Person, SlackStandin


@pytest.fixture
def standin() -> SlackStandin:
    """A stand-in with two people and one channel, on a fixed clock."""
    return SlackStandin(
        team_id="TPLAY",
        people=[Person("UREP", "Rep", "sales"), Person("UMKT", "Marketer", "marketing")],
        channels={"CFEED": "lead-feedback"},
        usergroups={"SMKT": ["UMKT"]},
        clock=lambda: datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        base_url="http://127.0.0.1:1",
    )


def test_a_post_to_a_person_lands_in_the_bots_dm_with_them(standin: SlackStandin) -> None:
    answer = standin.call("chat.postMessage", {"channel": "UREP", "text": "hi", "blocks": "[]"})

    assert answer["ok"] and answer["channel"] == "DUREP"
    assert [m["text"] for m in standin.conversations["DUREP"]] == ["hi"]
    opened = standin.call("conversations.open", {"users": "UREP"})
    assert opened["channel"]["id"] == "DUREP"


def test_timestamps_follow_the_clock_and_always_increase(standin: SlackStandin) -> None:
    first = standin.call("chat.postMessage", {"channel": "CFEED", "text": "a"})["ts"]
    second = standin.call("chat.postMessage", {"channel": "CFEED", "text": "b"})["ts"]

    assert first.startswith(str(int(datetime(2026, 11, 2, 9, 30, tzinfo=UTC).timestamp())))
    assert float(second) > float(first)


def test_an_update_replaces_the_blocks_and_marks_the_message_edited(
    standin: SlackStandin,
) -> None:
    ts = standin.call("chat.postMessage", {"channel": "CFEED", "text": "a", "blocks": "[]"})["ts"]
    blocks = [{"type": "divider"}]

    answer = standin.call(
        "chat.update", {"channel": "CFEED", "ts": ts, "text": "b", "blocks": json.dumps(blocks)}
    )

    assert answer["ok"]
    assert standin.find_message("CFEED", ts) == {
        **standin.conversations["CFEED"][0],
        "text": "b",
        "blocks": blocks,
        "edited": True,
    }
    missing = standin.call("chat.update", {"channel": "CFEED", "ts": "1.2", "text": "c"})
    assert missing == {"ok": False, "error": "message_not_found"}


def test_a_form_opens_in_front_of_the_person_whose_trigger_it_is(standin: SlackStandin) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Rate"}, "blocks": []}

    refused = standin.call("views.open", {"trigger_id": "made-up", "view": json.dumps(view)})
    opened = standin.call(
        "views.open", {"trigger_id": standin.trigger_for("UMKT"), "view": json.dumps(view)}
    )

    assert refused == {"ok": False, "error": "invalid_trigger_id"}
    assert opened["ok"] and standin.modals["UMKT"]["title"]["text"] == "Rate"
    assert "UREP" not in standin.modals


def test_threads_and_history_read_as_slack_reads_them(standin: SlackStandin) -> None:
    parent = standin.call("chat.postMessage", {"channel": "CFEED", "text": "post"})["ts"]
    reply = standin.add_user_message(channel="CFEED", user_id="UMKT", text="ok", thread_ts=parent)

    history = standin.call("conversations.history", {"channel": "CFEED"})
    replies = standin.call("conversations.replies", {"channel": "CFEED", "ts": parent})

    assert [m["ts"] for m in history["messages"]] == [parent]  # replies stay in the thread
    assert [m["ts"] for m in replies["messages"]] == [parent, reply["ts"]]


def test_user_groups_and_unknown_methods(standin: SlackStandin) -> None:
    assert standin.call("usergroups.users.list", {"usergroup": "SMKT"})["users"] == ["UMKT"]
    assert standin.call("usergroups.users.list", {"usergroup": "SX"})["error"] == "no_such_subteam"
    assert standin.call("admin.users.invite", {}) == {"ok": False, "error": "unknown_method"}
    assert standin.calls == ["usergroups.users.list"] * 2 + ["admin.users.invite"]


def wsgi(standin: SlackStandin, path: str, body: bytes, **headers: str) -> tuple[str, Any]:
    """One request to the stand-in's WSGI side: its status and JSON answer."""
    statuses: list[str] = []
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
        **headers,
    }
    chunks = standin.wsgi(environ, lambda status, _headers: statuses.append(status))  # type: ignore[arg-type,return-value]
    return statuses[0], json.loads(b"".join(chunks))


def test_the_web_api_needs_a_bot_token(standin: SlackStandin) -> None:
    assert wsgi(standin, "/api/auth.test", b"")[1] == {"ok": False, "error": "not_authed"}
    status, answer = wsgi(
        standin, "/api/auth.test", b"", HTTP_AUTHORIZATION="Bearer xoxb-playground"
    )
    assert status == "200 OK" and answer["team_id"] == "TPLAY"


def test_a_response_url_shows_its_answer_to_that_person_only(standin: SlackStandin) -> None:
    url = standin.response_url(user_id="UREP", channel="CFEED")
    path = url.removeprefix(standin.base_url)

    status, answer = wsgi(standin, path, b"text=Saved&response_type=ephemeral")

    assert status == "200 OK" and answer == {"ok": True}
    assert [(n.user_id, n.channel, n.text) for n in standin.notes] == [("UREP", "CFEED", "Saved")]
    assert wsgi(standin, "/respond/R999999", b"text=x")[0] == "404 Not Found"
