"""The playground end to end: the real app, its delivery and the page's API over real HTTP
on 127.0.0.1, against the Slack stand-in."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import build_parser, run_command
from bot.playground.running import (
    FEEDBACK,
    HANDOFFS,
    MEETINGS,
    Playground,
    PlaygroundRefused,
    refuse_real_slack,
    start_playground,
)
from bot.playground.slack_side import MESSAGE_SHORTCUTS
from domain.kpis.demo import MARKETERS, REPS
from tests.bot.playground.playground_driver import PageClient, message_html, message_ts

ROOT = Path(__file__).resolve().parents[3]
ALEX, FAY = REPS[0], MARKETERS[0]
ALEX_DM = f"D{ALEX}"


@pytest.fixture
def page(playground: Playground) -> PageClient:
    """The page's side of the playground."""
    return PageClient(playground)


def rate_acme_1(page: PageClient) -> str:
    """Alex types the rating; the ts of its post in the feedback channel."""
    answer = page.do(
        "type", **{"as": ALEX, "channel": ALEX_DM, "text": "/rate-lead ACME-1 2 wrong industry"}
    )
    assert answer == {"ok": True}
    page.wait_until(lambda: "ACME-1" in page.conversation(ALEX, FEEDBACK)["html"])
    return message_ts(page.conversation(ALEX, FEEDBACK)["html"], "ACME-1")


def test_a_rating_typed_as_a_rep_is_posted_to_the_feedback_channel(page: PageClient) -> None:
    rate_acme_1(page)

    feedback = page.conversation(ALEX, FEEDBACK)["html"]
    assert "<b>Lead ACME-1</b> rated" in feedback
    assert "<b>2/5</b>" in feedback and "wrong industry" in feedback
    assert 'data-action-id="verdict_agree"' in feedback  # marketing's buttons, drawn
    # The command's answer is the rep's alone, in the conversation they typed it in.
    assert "Only visible to you" in page.conversation(ALEX, ALEX_DM)["html"]
    assert "Only visible to you" not in page.conversation(FAY, ALEX_DM)["html"]
    assert page.playground.standin.calls.count("chat.postMessage") >= 1


def test_a_thread_reply_as_marketing_reaches_the_raters_dm(page: PageClient) -> None:
    post = rate_acme_1(page)

    answer = page.do(
        "type",
        **{"as": FAY, "channel": FEEDBACK, "thread_ts": post, "text": "We'll fix the <list>"},
    )

    assert answer == {"ok": True}
    page.wait_until(lambda: "answered your 2/5 rating" in page.conversation(ALEX, ALEX_DM)["html"])
    dm = page.conversation(ALEX, ALEX_DM)["html"]
    assert "We&#x27;ll fix the &lt;list&gt;" in dm or "We'll fix the &lt;list&gt;" in dm
    link = html.unescape(dm.split('<a href="', 1)[1].split('"', 1)[0])
    assert link.startswith(page.playground.url + "archives/")
    assert redirect_of(link) == f"/#{FEEDBACK}/{post}"  # the page, with that thread open
    thread = page.conversation(FAY, FEEDBACK)["threads"][post]
    assert "Fay (marketing)" in thread and "&lt;list&gt;" in thread


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def redirect_of(url: str) -> str:
    """Where ``url`` redirects to."""
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(NoRedirects).open(url, timeout=10)
    assert answer.value.code == 302
    return str(answer.value.headers["Location"])


def test_a_handoff_button_click_updates_the_message(page: PageClient) -> None:
    page.wait_until(lambda: "ACME-1</b>" in page.conversation(ALEX, ALEX_DM)["html"])
    dm = page.conversation(ALEX, ALEX_DM)["html"]
    handoff = message_ts(dm, "ACME-1</b>")
    button = message_html(dm, handoff).split('data-action-id="handoff_score_4"', 1)[1]
    value = button.split('data-value="', 1)[1]
    value = value.split('"', 1)[0]

    answer = page.do(
        "click",
        **{
            "as": ALEX,
            "where": "message",
            "channel": ALEX_DM,
            "ts": handoff,
            "action_id": "handoff_score_4",
            "block_id": "handoff_actions",
            "value": value,
        },
    )

    assert answer == {"ok": True}
    page.wait_until(
        lambda: "Rated by" in message_html(page.conversation(ALEX, ALEX_DM)["html"], handoff)
    )
    updated = message_html(page.conversation(ALEX, ALEX_DM)["html"], handoff)
    assert "4/5" in updated and "(edited)" in updated
    page.wait_until(lambda: "ACME-1" in page.conversation(ALEX, FEEDBACK)["html"])


def test_the_rating_form_opens_and_a_missing_score_is_flagged(page: PageClient) -> None:
    assert page.do("type", **{"as": ALEX, "channel": ALEX_DM, "text": "/rate-lead"})["ok"]
    form = page.state(ALEX)["modal"]
    assert "Rate a lead" in form and 'data-block-id="score"' in form
    assert page.state(FAY)["modal"] is None  # the form is in front of Alex only

    values = {
        "lead": {"lead_input": {"type": "plain_text_input", "value": "ACME-2"}},
        "score": {"score_input": {"type": "static_select", "selected_option": None}},
        "tags": {"tags_input": {"type": "checkboxes", "selected_options": []}},
        "reason": {"reason_input": {"type": "plain_text_input", "value": None}},
    }
    answer = page.do("submit", **{"as": ALEX, "values": values})

    assert answer["ok"] and set(answer["errors"]) == {"score"}
    assert page.state(ALEX)["modal"] is not None  # still open, as Slack keeps it

    values["score"]["score_input"]["selected_option"] = {"value": "3"}
    answer = page.do("submit", **{"as": ALEX, "values": values})
    assert answer == {"ok": True, "errors": {}}
    page.wait_until(lambda: "ACME-2" in page.conversation(ALEX, FEEDBACK)["html"])


def test_rate_this_lead_from_a_handoffs_menu_opens_the_form_with_its_lead(
    page: PageClient,
) -> None:
    page.wait_until(lambda: "ACME-1</b>" in page.conversation(ALEX, HANDOFFS)["html"])
    timeline = page.conversation(ALEX, HANDOFFS)["html"]
    handoff = message_ts(timeline, "ACME-1</b>")
    menu = message_html(timeline, handoff)
    assert 'title="More actions"' in menu
    assert 'data-shortcut="rate_lead_from_message">Rate this lead</button>' in menu

    answer = page.do(
        "shortcut",
        **{
            "as": ALEX,
            "callback_id": "rate_lead_from_message",
            "channel": HANDOFFS,
            "ts": handoff,
        },
    )

    assert answer == {"ok": True}
    page.wait_until(lambda: page.state(ALEX)["modal"] is not None)
    form = page.state(ALEX)["modal"]
    assert "Rate a lead" in form
    assert 'data-action-id="lead_input" data-block-id="lead" value="ACME-1"' in form
    assert page.state(FAY)["modal"] is None  # in front of the one who picked it only


def test_rate_this_lead_from_a_message_naming_no_lead_opens_the_form_empty(
    page: PageClient,
) -> None:
    typed = {"as": FAY, "channel": FEEDBACK, "text": "Who wants coffee?"}
    assert page.do("type", **typed) == {"ok": True}
    said = message_ts(page.conversation(FAY, FEEDBACK)["html"], "Who wants coffee?")

    answer = page.do(
        "shortcut",
        **{"as": FAY, "callback_id": "rate_lead_from_message", "channel": FEEDBACK, "ts": said},
    )

    assert answer == {"ok": True}
    page.wait_until(lambda: page.state(FAY)["modal"] is not None)
    form = page.state(FAY)["modal"]
    assert 'data-action-id="lead_input" data-block-id="lead" value=""' in form


def test_a_shortcut_leadloop_lacks_or_a_message_that_is_gone_is_refused(page: PageClient) -> None:
    page.wait_until(lambda: page.conversation(ALEX, HANDOFFS)["count"] == 3)
    handoff = message_ts(page.conversation(ALEX, HANDOFFS)["html"], "ACME-1")
    unknown = page.do(
        "shortcut", **{"as": ALEX, "callback_id": "delete_it", "channel": HANDOFFS, "ts": handoff}
    )
    gone = page.do(
        "shortcut",
        **{"as": ALEX, "callback_id": "rate_lead_from_message", "channel": HANDOFFS, "ts": "1.0"},
    )

    assert not unknown["ok"] and "delete_it" in unknown["error"]
    assert gone == {"ok": False, "error": "that message is gone"}
    assert page.state(ALEX)["modal"] is None


def test_the_pages_message_shortcuts_are_the_manifests() -> None:
    with open(ROOT / "manifest.json", encoding="utf-8") as file:
        manifest = json.load(file)

    declared = {
        shortcut["callback_id"]: shortcut["name"]
        for shortcut in manifest["features"]["shortcuts"]
        if shortcut["type"] == "message"
    }

    assert declared == MESSAGE_SHORTCUTS


def test_app_home_is_published_for_the_chosen_person(page: PageClient) -> None:
    assert page.do("home", **{"as": FAY}) == {"ok": True}

    page.wait_until(lambda: page.state(FAY)["home"] is not None)
    assert page.state(ALEX)["home"] is None
    # Everyone in the demo data is named, the reps you cannot act as too.
    home = page.state(FAY)["home"]
    assert "Cho (sales)" in home
    assert not re.search(r"\bU(REP|MKT)0[A-Z]+\b", home), home


def test_jumping_the_clock_brings_a_meeting_reminder(page: PageClient) -> None:
    # A daily meeting in 90 minutes, reminded an hour before: due in 30 minutes.
    at = (page.playground.clock() + timedelta(minutes=90)).strftime("%H:%M")
    days = "mon,tue,wed,thu,fri,sat,sun"
    typed = f"/meeting add {days} {at} #sales-marketing Pipeline sync --remind 1h"
    assert page.do("type", **{"as": FAY, "channel": MEETINGS, "text": typed}) == {"ok": True}
    assert "Only visible to you" in page.conversation(FAY, MEETINGS)["html"]
    assert page.conversation(FAY, MEETINGS)["count"] == 0
    before = page.state(FAY)["now"]

    assert page.do("clock", **{"as": FAY, "by": "hour"}) == {"ok": True}

    assert page.state(FAY)["now"] != before
    page.wait_until(lambda: page.conversation(FAY, MEETINGS)["count"] == 1)
    assert "Pipeline sync" in page.conversation(ALEX, MEETINGS)["html"]


def test_jumping_past_the_answer_time_brings_a_nudge_to_the_ratings_thread(
    tmp_path: Path,
) -> None:
    # A Tuesday morning: within the default business hours, so the default 4 h answer
    # time ends at 13:30 the same day.
    tuesday = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    playground = start_playground(database=tmp_path / "playground.db", port=0, start_at=tuesday)
    try:
        page = PageClient(playground)
        ts = rate_acme_1(page)
        assert page.do("clock", **{"as": FAY, "by": "hour"}) == {"ok": True}
        assert "has waited" not in page.conversation(FAY, FEEDBACK)["threads"][ts]

        for _ in range(3):
            assert page.do("clock", **{"as": FAY, "by": "hour"}) == {"ok": True}

        page.wait_until(lambda: "has waited" in page.conversation(FAY, FEEDBACK)["threads"][ts])
        thread = page.conversation(FAY, FEEDBACK)["threads"][ts]
        assert "ACME-1" in thread and "marketing" in thread
    finally:
        playground.close()


def test_the_page_is_served_with_its_script_and_says_it_is_local(page: PageClient) -> None:
    with urllib.request.urlopen(page.playground.url, timeout=10) as response:
        html = response.read().decode()
    assert "A local playground" in html and "nothing here reaches Slack" in html
    assert 'src="/page.js"' in html and "http" not in html.split("<body>")[1]
    with urllib.request.urlopen(page.playground.url + "page.js", timeout=10) as response:
        assert b"/do/" in response.read()


def test_actions_need_json_and_this_servers_own_address(playground: Playground) -> None:
    form = urllib.request.Request(
        playground.url + "do/type",
        data=b"as=UREP0ALEX&text=/kpi",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(form, timeout=10)
    assert refused.value.code == 415

    port = playground.url.rsplit(":", 1)[1].strip("/")
    rebound = urllib.request.Request(
        playground.url + "state", headers={"Host": f"evil.example:{port}"}
    )
    with pytest.raises(urllib.error.HTTPError) as misdirected:
        urllib.request.urlopen(rebound, timeout=10)
    assert misdirected.value.code == 421
    assert playground.url in misdirected.value.read().decode()


def test_the_page_answers_at_localhost_too(playground: Playground) -> None:
    port = playground.url.rsplit(":", 1)[1].strip("/")
    with urllib.request.urlopen(f"http://localhost:{port}/", timeout=10) as page:
        assert "A local playground on this computer" in page.read().decode()


def test_an_unknown_person_or_command_is_refused_on_the_page(page: PageClient) -> None:
    assert page.do("type", **{"as": "UNOBODY", "channel": FEEDBACK, "text": "/kpi"}) == {
        "ok": False,
        "error": "choose who you are first",
    }
    answer = page.do("type", **{"as": ALEX, "channel": FEEDBACK, "text": "/remind me"})
    assert not answer["ok"] and "/rate-lead" in answer["error"]


def test_the_handoffs_of_the_seeded_leads_are_in_the_handoff_channel(page: PageClient) -> None:
    page.wait_until(lambda: page.conversation(ALEX, HANDOFFS)["count"] == 3)


@pytest.mark.parametrize(
    "url", ["https://slack.com/api/", "http://10.0.0.5:8080/api/", "https://evil.example/"]
)
def test_the_playground_refuses_a_slack_api_url_elsewhere(url: str) -> None:
    with pytest.raises(PlaygroundRefused, match="stand-in"):
        refuse_real_slack(url)


@pytest.mark.parametrize("url", [None, "", "http://127.0.0.1:9/api/", "http://localhost/api/"])
def test_the_playground_accepts_its_own_host(url: str | None) -> None:
    refuse_real_slack(url)


def test_the_command_refuses_to_start_against_real_slack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(
        ["playground", "--port", "0", "--database", str(tmp_path / "p.db")]
    )

    status = run_command(args, {"SLACK_API_URL": "https://slack.com/api/"})

    assert status == 2
    assert "SLACK_API_URL names slack.com" in capsys.readouterr().err
    assert not (tmp_path / "p.db").exists()


def test_a_second_start_keeps_the_database_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "playground.db"
    first = start_playground(database=database, port=0)
    first.close()
    second = start_playground(database=database, port=0)
    try:
        page = PageClient(second)
        answer = page.do("type", **{"as": ALEX, "channel": ALEX_DM, "text": "/kpi"})
        assert answer == {"ok": True}
        assert json.dumps(page.state(ALEX)).count("Only visible to you") == 1
    finally:
        second.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_playground_command_stops_cleanly_on_ctrl_c_and_sigterm(
    tmp_path: Path, stop: signal.Signals
) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "LEADLOOP_ENV_FILE": os.devnull}
    command = [sys.executable, "-m", "bot", "playground", "--port", "0"]
    command += ["--database", str(tmp_path / "playground.db")]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert "the playground runs at http://127.0.0.1:" in process.stdout.readline()
    process.send_signal(stop)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"still running 30 s after {stop.name}:\n{stderr}") from None
    assert process.returncode == 0, stderr
    assert "the playground stopped" in stderr
    assert "Traceback" not in stderr


def test_a_port_in_use_is_explained_and_another_suggested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        args = build_parser().parse_args(
            ["playground", "--port", str(port), "--database", str(tmp_path / "p.db")]
        )
        status = run_command(args, {})

    assert status == 2
    error = capsys.readouterr().err
    assert f"could not listen on 127.0.0.1:{port}" in error
    assert "choose another with --port" in error
    assert "Traceback" not in error
    assert not (tmp_path / "p.db").exists()
