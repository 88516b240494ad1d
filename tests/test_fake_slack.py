"""Tests for the FakeSlack test server."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.fake_slack import Call, FakeSlack

BLOCKS: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A running FakeSlack with a known user and user group."""
    with FakeSlack(
        users={"U1": {"real_name": "Ada Lovelace"}},
        usergroups={"S1": ["U1", "U2"]},
    ) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """A WebClient pointed at the fake, without retry handlers."""
    return WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[], timeout=10)


def _post(url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Any:
    """POST raw bytes with urllib and return the decoded JSON answer."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_api_url_shape(fake: FakeSlack) -> None:
    """api_url points at 127.0.0.1 on a real port and ends with /api/."""
    assert fake.api_url.startswith("http://127.0.0.1:")
    assert fake.api_url.endswith("/api/")
    assert fake.port > 0


def test_auth_test(fake: FakeSlack, client: WebClient) -> None:
    """auth.test answers like Slack and records the bearer token."""
    resp = client.auth_test()
    assert resp.data == {
        "ok": True,
        "url": "https://test.slack.com/",
        "team": "Test Team",
        "user": "leadloop",
        "team_id": "T0TEST",
        "user_id": "UBOT",
        "bot_id": "BBOT",
        "is_enterprise_install": False,
    }
    (call,) = fake.calls_to("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.path == "/api/auth.test"


def test_post_message_unique_increasing_ts_and_parsed_blocks(
    fake: FakeSlack, client: WebClient
) -> None:
    """chat.postMessage returns unique increasing ts and records blocks as parsed JSON."""
    first = client.chat_postMessage(channel="C1", text="hello", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])
    assert first["ts"] == "1700000000.000100"
    assert second["ts"] == "1700000000.000200"
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1"
    assert first["message"]["ts"] == first["ts"]
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["user"] == "UBOT"
    assert first["message"]["bot_id"] == "BBOT"
    assert "thread_ts" not in first["message"]
    assert second["message"]["thread_ts"] == first["ts"]
    calls = fake.calls_to("chat.postMessage")
    assert [c.params["text"] for c in calls] == ["hello", "again"]
    assert calls[0].params["blocks"] == BLOCKS
    assert calls[0].headers["content-type"].startswith("application/json")


def test_ts_is_thread_safe(fake: FakeSlack) -> None:
    """Concurrent posts from many threads all get distinct ts values."""
    results: list[str] = []
    lock = threading.Lock()

    def post() -> None:
        local = WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[])
        for _ in range(5):
            ts = local.chat_postMessage(channel="C1", text="x")["ts"]
            with lock:
                results.append(ts)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 40
    assert len(set(results)) == 40


def test_form_encoded_json_strings_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    """Form fields holding JSON strings are stored decoded; other strings stay strings."""
    client.api_call(
        "chat.postMessage",
        params={"channel": "C9", "text": "[not json", "blocks": json.dumps(BLOCKS)},
    )
    (call,) = fake.calls_to("chat.postMessage")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.params == {"channel": "C9", "text": "[not json", "blocks": BLOCKS}


def test_query_string_and_token_param(fake: FakeSlack) -> None:
    """Query string params merge with form params and a token param authenticates."""
    body = urlencode({"token": "xoxb-form", "view": json.dumps({"type": "modal"})}).encode()
    resp = _post(
        fake.api_url + "views.open?trigger_id=T123", body, "application/x-www-form-urlencoded"
    )
    assert resp["ok"] is True
    assert resp["view"]["type"] == "modal"
    assert resp["view"]["id"].startswith("V")
    (call,) = fake.calls_to("views.open")
    assert call.token == "xoxb-form"
    assert call.params == {"trigger_id": "T123", "token": "xoxb-form", "view": {"type": "modal"}}


def test_rate_limited_then_success(fake: FakeSlack, client: WebClient) -> None:
    """A queued 429 gives SlackApiError with Retry-After; the next call succeeds."""
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="hi")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert excinfo.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_rate_limited_default_retry_after(fake: FakeSlack, client: WebClient) -> None:
    """Retry-After defaults to 1."""
    fake.fail_next("auth.test", status=429)
    with pytest.raises(SlackApiError) as excinfo:
        client.auth_test()
    assert excinfo.value.response.headers["Retry-After"] == "1"


def test_server_error_fault(fake: FakeSlack, client: WebClient) -> None:
    """A queued 500 surfaces as SlackApiError with status 500 and internal_error."""
    fake.fail_next("chat.update", status=500)
    fake.fail_next("chat.update", status=503, error="service_unavailable")
    with pytest.raises(SlackApiError) as first:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert first.value.response.status_code == 500
    assert first.value.response["error"] == "internal_error"
    with pytest.raises(SlackApiError) as second:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert second.value.response.status_code == 503
    assert second.value.response["error"] == "service_unavailable"
    ok = client.chat_update(channel="C1", ts="1.2", text="x")
    assert ok.data == {"ok": True, "channel": "C1", "ts": "1.2", "text": "x"}


def test_error_fault_with_status_200(fake: FakeSlack, client: WebClient) -> None:
    """error="channel_not_found" answers HTTP 200 with ok=false, `times` times."""
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C404", text="x")
        assert excinfo.value.response.status_code == 200
        assert excinfo.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert len(fake.calls_to("chat.postMessage")) == 3


def test_faults_only_affect_their_method(fake: FakeSlack, client: WebClient) -> None:
    """A fault queued for one method leaves others alone."""
    fake.fail_next("chat.delete", status=500)
    assert client.auth_test()["ok"] is True
    with pytest.raises(SlackApiError):
        client.chat_delete(channel="C1", ts="1.1")
    assert client.chat_delete(channel="C1", ts="1.1").data == {
        "ok": True,
        "channel": "C1",
        "ts": "1.1",
    }


def test_drop_connection(fake: FakeSlack, client: WebClient) -> None:
    """drop_connection closes the socket without a response; the call is still recorded."""
    fake.fail_next("chat.postMessage", drop_connection=True)
    with pytest.raises((ConnectionError, URLError)):
        client.chat_postMessage(channel="C1", text="x")
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_wait_for_timeout_message(fake: FakeSlack, client: WebClient) -> None:
    """wait_for raises a helpful AssertionError when calls do not arrive."""
    client.auth_test()
    with pytest.raises(AssertionError) as excinfo:
        fake.wait_for("chat.postMessage", count=2, timeout=0.2)
    message = str(excinfo.value)
    assert "'chat.postMessage'" in message
    assert "2 call(s)" in message
    assert "['auth.test']" in message


def test_wait_for_call_from_other_thread(fake: FakeSlack, client: WebClient) -> None:
    """wait_for wakes up when a call made on another thread arrives."""
    thread = threading.Thread(
        target=lambda: client.chat_postEphemeral(channel="C", user="U", text="x")
    )
    thread.start()
    calls = fake.wait_for("chat.postEphemeral", timeout=5)
    thread.join(timeout=5)
    assert len(calls) == 1
    assert calls[0].params["user"] == "U"


def test_wait_for_counts_faulted_calls(fake: FakeSlack, client: WebClient) -> None:
    """Faulted calls count for wait_for."""
    fake.fail_next("auth.test", status=500)
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert len(fake.wait_for("auth.test", timeout=1)) == 1


def test_hold_blocks_until_released(fake: FakeSlack, client: WebClient) -> None:
    """A held method does not answer until the Event is set; later calls are not held."""
    release = fake.hold("chat.postMessage")
    done = threading.Event()
    results: list[Any] = []

    def post() -> None:
        results.append(client.chat_postMessage(channel="C1", text="held"))
        done.set()

    thread = threading.Thread(target=post)
    thread.start()
    fake.wait_for("chat.postMessage", timeout=5)  # arrived at the server...
    assert not done.wait(timeout=0.1)  # ...but has not been answered
    assert results == []
    release.set()
    assert done.wait(timeout=5)
    thread.join(timeout=5)
    assert results[0]["ok"] is True
    # The hold is cleared: a later call answers straight away on this thread.
    assert client.chat_postMessage(channel="C1", text="free")["ok"] is True


def test_hold_with_fault(fake: FakeSlack, client: WebClient) -> None:
    """A held call still gets its queued fault once released."""
    release = fake.hold("auth.test")
    fake.fail_next("auth.test", error="invalid_auth")
    errors: list[str] = []

    def call() -> None:
        try:
            client.auth_test()
        except SlackApiError as exc:
            errors.append(exc.response["error"])

    thread = threading.Thread(target=call)
    thread.start()
    fake.wait_for("auth.test", timeout=5)
    release.set()
    thread.join(timeout=5)
    assert errors == ["invalid_auth"]


def test_response_url_records_and_answers_ok(fake: FakeSlack) -> None:
    """POSTs to response URLs are recorded as "response_url" with the JSON body as params."""
    url = fake.response_url()
    assert url != fake.response_url()
    assert "/respond/cmd-" in url
    resp = WebhookClient(url).send(text="done", response_type="ephemeral", blocks=BLOCKS)
    assert resp.status_code == 200
    assert resp.body == "ok"
    (call,) = fake.calls_to("response_url")
    assert call.params == {"text": "done", "response_type": "ephemeral", "blocks": BLOCKS}
    assert call.path == url.removeprefix(fake.base_url)
    assert call.token is None


def test_response_url_fault_and_hold(fake: FakeSlack) -> None:
    """Faults and holds work for response_url too."""
    fake.fail_next("response_url", status=500)
    webhook = WebhookClient(fake.response_url("action"), retry_handlers=[])
    assert webhook.send(text="x").status_code == 500

    release = fake.hold("response_url")
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(webhook.send(text="y").status_code))
    thread.start()
    fake.wait_for("response_url", count=2, timeout=5)
    assert statuses == []
    release.set()
    thread.join(timeout=5)
    assert statuses == [200]


def test_file_upload_flow(fake: FakeSlack, client: WebClient) -> None:
    """files_upload_v2 goes through getUploadURLExternal, the upload URL and completion."""
    resp = client.files_upload_v2(
        content=b"hello \x00 bytes", filename="report.csv", title="Report", channel="C1"
    )
    (get_url,) = fake.calls_to("files.getUploadURLExternal")
    assert get_url.params["filename"] == "report.csv"
    (upload,) = fake.calls_to("file_upload")
    assert upload.body == b"hello \x00 bytes"
    file_id = upload.params["file_id"]
    assert file_id.startswith("F")
    (complete,) = fake.calls_to("files.completeUploadExternal")
    assert complete.params["files"] == [{"id": file_id, "title": "Report"}]
    assert resp["files"] == [{"id": file_id, "title": "Report"}]
    assert resp["file"]["id"] == file_id


def test_file_upload_fault(fake: FakeSlack) -> None:
    """The upload URL answers OK - <len> and supports faults."""
    fake.fail_next("file_upload", status=500)
    url = fake.base_url + "/upload/F123"
    with pytest.raises(URLError):
        urllib.request.urlopen(urllib.request.Request(url, data=b"abc", method="POST"), timeout=5)
    with urllib.request.urlopen(
        urllib.request.Request(url, data=b"abc", method="POST"), timeout=5
    ) as response:
        assert response.read() == b"OK - 3"
    assert len(fake.calls_to("file_upload")) == 2


def test_not_authed_without_token(fake: FakeSlack) -> None:
    """Requests with no bearer header and no token param get not_authed (still recorded)."""
    anonymous = WebClient(base_url=fake.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as excinfo:
        anonymous.auth_test()
    assert excinfo.value.response["error"] == "not_authed"
    assert fake.calls_to("auth.test")[0].token is None


def test_users_info_defaults_ctor_and_set_user(fake: FakeSlack, client: WebClient) -> None:
    """users.info merges defaults, constructor users and set_user fields."""
    fake.set_user("U2", tz="Europe/Paris", tz_offset=3600, real_name="Grace")
    unknown = client.users_info(user="UNKNOWN")["user"]
    assert unknown == {
        "id": "UNKNOWN",
        "name": "unknown",
        "tz": "America/New_York",
        "tz_offset": -18000,
        "is_bot": False,
    }
    assert client.users_info(user="U1")["user"]["real_name"] == "Ada Lovelace"
    u2 = client.users_info(user="U2")["user"]
    assert (u2["tz"], u2["tz_offset"], u2["real_name"], u2["name"]) == (
        "Europe/Paris",
        3600,
        "Grace",
        "u2",
    )


def test_conversations_and_usergroups(client: WebClient) -> None:
    """conversations.* and usergroups.users.list answers."""
    assert client.conversations_open(users="U1,U2")["channel"] == {"id": "DU1U2"}
    assert client.conversations_join(channel="C7")["channel"] == {"id": "C7"}
    assert client.conversations_info(channel="C7")["channel"] == {
        "id": "C7",
        "name": "general",
        "is_member": True,
    }
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as excinfo:
        client.usergroups_users_list(usergroup="S404")
    assert excinfo.value.response["error"] == "no_such_subteam"


METADATA = {"event_type": "leadloop_outbox", "event_payload": {"outbox_id": 7, "team": "T1"}}


def test_history_shows_the_newest_messages_first_with_their_metadata(
    fake: FakeSlack, client: WebClient
) -> None:
    """conversations.history lists a channel's messages newest first, metadata on request."""
    first = client.chat_postMessage(channel="C1", text="one", metadata=METADATA)
    client.chat_postMessage(channel="C2", text="elsewhere")
    client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    second = client.chat_postMessage(channel="C1", text="two")

    history = client.conversations_history(channel="C1", include_all_metadata=True)

    assert [m["ts"] for m in history["messages"]] == [second["ts"], first["ts"]]
    assert history["messages"][1]["metadata"] == METADATA
    assert "metadata" not in history["messages"][0]
    assert history["has_more"] is False
    assert fake.calls_to("chat.postMessage")[0].params["metadata"] == METADATA
    plain = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in plain] == ["two", "one"]
    assert all("metadata" not in m for m in plain)


def test_history_honours_oldest_latest_and_limit(fake: FakeSlack, client: WebClient) -> None:
    """oldest and latest bound the messages (exclusive unless inclusive); limit cuts the newest."""
    ts = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(5)]

    def texts(**arguments: Any) -> list[str]:
        return [
            m["text"] for m in client.conversations_history(channel="C1", **arguments)["messages"]
        ]

    assert texts(oldest=ts[1]) == ["4", "3", "2"]
    assert texts(oldest=ts[1], inclusive=True) == ["4", "3", "2", "1"]
    assert texts(oldest=ts[1], latest=ts[3]) == ["2"]
    assert texts(limit=2) == ["4", "3"]
    assert client.conversations_history(channel="C1", limit=2)["has_more"] is True


def test_history_follows_the_fakes_clock_when_it_has_one(client: WebClient) -> None:
    """With a clock, ts values are that clock's time, still unique and increasing."""
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with FakeSlack(clock=lambda: now) as fake:
        timed = WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[])
        first = timed.chat_postMessage(channel="C1", text="a")["ts"]
        second = timed.chat_postMessage(channel="C1", text="b")["ts"]
        oldest = f"{now.timestamp() - 60:.6f}"
        shown = timed.conversations_history(channel="C1", oldest=oldest)["messages"]
    assert first == f"{now.timestamp():.6f}"
    assert float(second) > float(first)
    assert [m["ts"] for m in shown] == [second, first]


def test_a_post_to_a_user_lands_in_the_dm_that_conversations_open_names(
    fake: FakeSlack, client: WebClient
) -> None:
    """History is read by conversation ID: the DM's, never the user's."""
    client.chat_postMessage(channel="U1", text="hi", metadata=METADATA)
    dm = client.conversations_open(users="U1")["channel"]["id"]

    [message] = client.conversations_history(channel=dm, include_all_metadata=True)["messages"]

    assert (message["text"], message["metadata"]) == ("hi", METADATA)
    assert fake.messages_in("U1") == fake.messages_in(dm)
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel="U1")
    assert excinfo.value.response["error"] == "channel_not_found"


def test_updates_and_deletes_show_in_the_history(fake: FakeSlack, client: WebClient) -> None:
    """chat.update changes a stored message; chat.delete removes it."""
    kept = client.chat_postMessage(channel="C1", text="old")["ts"]
    gone = client.chat_postMessage(channel="C1", text="gone")["ts"]
    client.chat_update(channel="C1", ts=kept, text="new")
    client.chat_delete(channel="C1", ts=gone)

    assert [(m["ts"], m["text"]) for m in fake.messages_in("C1")] == [(kept, "new")]


def test_history_can_be_refused_for_a_missing_scope(fake: FakeSlack, client: WebClient) -> None:
    """refuse_history makes conversations.history fail like an app without the scope."""
    client.chat_postMessage(channel="G1", text="private")
    fake.refuse_history()

    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel="G1")
    assert (excinfo.value.response["error"], excinfo.value.response["needed"]) == (
        "missing_scope",
        "groups:history",
    )
    fake.refuse_history("not_in_channel")
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel="C1")
    assert excinfo.value.response["error"] == "not_in_channel"
    fake.refuse_history(None)
    assert [m["text"] for m in client.conversations_history(channel="G1")["messages"]] == [
        "private"
    ]


def test_views_and_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    """views.* echo the submitted view with an id; postEphemeral returns message_ts."""
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": BLOCKS}
    opened = client.views_open(trigger_id="trig", view=view)["view"]
    assert opened["id"].startswith("V")
    assert {k: v for k, v in opened.items() if k != "id"} == view
    assert client.views_push(trigger_id="trig", view=view)["view"]["id"] != opened["id"]
    assert client.views_update(view_id=opened["id"], view=view)["view"]["id"] == opened["id"]
    assert client.views_publish(user_id="U1", view={"type": "home"})["view"]["type"] == "home"
    assert fake.calls_to("views.open")[0].params["view"] == view
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert ephemeral["message_ts"].startswith("1700000000.")


def test_unknown_method_is_recorded(fake: FakeSlack, client: WebClient) -> None:
    """Unknown methods answer unknown_method and are recorded."""
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("reactions.add", params={"name": "tada"})
    assert excinfo.value.response["error"] == "unknown_method"
    assert [c.method for c in fake.calls] == ["reactions.add"]
    assert isinstance(fake.calls[0], Call)


def test_keep_alive_connection_reuse(fake: FakeSlack) -> None:
    """Several requests on one HTTP/1.1 connection all get answered."""
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        for i in range(3):
            conn.request(
                "POST",
                "/api/chat.postMessage",
                body=json.dumps({"channel": "C1", "text": str(i)}),
                headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-t"},
            )
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["message"]["text"] == str(i)
    finally:
        conn.close()
    assert len(fake.calls_to("chat.postMessage")) == 3


def test_stop_is_idempotent() -> None:
    """stop() can be called repeatedly and the port stops answering."""
    server = FakeSlack().start()
    url = server.api_url
    server.stop()
    server.stop()
    with pytest.raises(URLError):
        _post(url + "auth.test", b"", "application/x-www-form-urlencoded")
    with pytest.raises(RuntimeError):
        _ = server.api_url


def test_stop_releases_held_calls() -> None:
    """Stopping the server releases held calls instead of waiting out the safety timeout."""
    server = FakeSlack().start()
    server.hold("auth.test")
    client = WebClient(token="xoxb-t", base_url=server.api_url, retry_handlers=[], timeout=10)
    outcome: list[str] = []

    def call() -> None:
        try:
            client.auth_test()
            outcome.append("answered")
        except Exception as exc:  # connection torn down by stop()
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=call)
    thread.start()
    server.wait_for("auth.test", timeout=5)
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(outcome) == 1


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeSlack]:
    """A module-scoped FakeSlack for property-based tests."""
    with FakeSlack() as server:
        yield server


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text().filter(lambda s: not s.startswith(("[", "{"))),
    blocks=st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)),
)
def test_form_roundtrip_property(shared_fake: FakeSlack, text: str, blocks: list[Any]) -> None:
    """Arbitrary form text round-trips unchanged and JSON-string fields decode exactly."""
    body = urlencode({"channel": "C1", "text": text, "blocks": json.dumps(blocks)}).encode()
    resp = _post(
        shared_fake.api_url + "chat.postMessage",
        body,
        "application/x-www-form-urlencoded",
        headers={"Authorization": "Bearer xoxb-prop"},
    )
    assert resp["message"]["text"] == text
    assert resp["message"]["blocks"] == blocks
    call = shared_fake.calls[-1]
    assert call.params == {"channel": "C1", "text": text, "blocks": blocks}
