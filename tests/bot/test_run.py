"""``leadloop run`` as a real process: the entry point users and deployments start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import ProcessLog, free_port, stop_process
from tests.slack_app_client import http_request

ROOT = Path(__file__).resolve().parents[2]
FORM = "application/x-www-form-urlencoded"


def bot_env(fake_slack: FakeSlack, database: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-run-test-token",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{database}",
        **extra,
    }


def wait_for_log_line(process: subprocess.Popen[str], needle: str) -> list[str]:
    """Read the process's stderr until a line contains ``needle`` (or the process ends)."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"process ended before logging {needle!r}: {''.join(seen)}")


@pytest.fixture
def running_bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """``python -m bot run`` on a free port with an empty SQLite database."""
    port = free_port()
    database = tmp_path / "data" / "leadloop.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=bot_env(fake_slack, database),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = wait_for_log_line(process, "leadloop is listening")
        yield f"http://127.0.0.1:{port}", database, log
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def test_run_migrates_an_empty_database_serves_slack_and_stops_cleanly_on_sigterm(
    running_bot: tuple[str, Path, list[str]], fake_slack: FakeSlack
) -> None:
    base_url, database, _log = running_bot
    assert http_request(base_url + "/healthz").status == 200
    body = payloads.form_body(
        payloads.slash_command("ACME-1042 2 no budget", response_url=fake_slack.response_url())
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")

    answer = http_request(
        base_url + "/slack/events", method="POST", body=body.encode(), headers=headers
    )

    assert answer.status == 200
    assert "ACME-1042" in answer.json()["text"]  # confirmed in the ack, stored before it
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT lead_id, score FROM rating")).all() == [(1, 2)]
        workspaces = connection.execute(text("SELECT team_id, bot_user_id FROM workspace"))
        assert workspaces.all() == [(payloads.TEAM_ID, "UBOT")]
    engine.dispose()
    [post] = fake_slack.wait_for("chat.postMessage")  # and posted after the ack
    assert "ACME-1042" in str(post.params["text"])


def test_sigterm_stops_the_bot_with_exit_code_0(fake_slack: FakeSlack, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=ROOT,
        env=bot_env(fake_slack, tmp_path / "x.db"),
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_log_line(process, "leadloop is listening")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert process.stderr is not None
    rest = process.stderr.read()
    process.stderr.close()
    assert "leadloop stopped" in rest
    assert "Traceback" not in rest


def test_tokens_never_reach_the_log(fake_slack: FakeSlack, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(free_port()), "--log-level", "DEBUG"],
        cwd=ROOT,
        env=bot_env(fake_slack, tmp_path / "x.db"),
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = wait_for_log_line(process, "leadloop is listening")
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.stderr is not None
    log = "".join(seen) + process.stderr.read()
    process.stderr.close()

    assert "auth.test" in log  # debug logging of Slack calls was on
    assert "xoxb-run-test-token" not in log
    assert payloads.SIGNING_SECRET not in log


def test_refused_bot_token_exits_2_with_a_clear_message(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.fail_next("auth.test", error="invalid_auth")

    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--port", str(free_port())],
        cwd=ROOT,
        env=bot_env(fake_slack, tmp_path / "x.db"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_refused_bot_token_says_refused_and_where_to_copy_it_again(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.fail_next("auth.test", error="invalid_auth")

    result = run_once(bot_env(fake_slack, tmp_path / "x.db"))

    line = result.stderr.splitlines()[-1]
    assert "slack_sdk" not in result.stderr  # no retry chatter before it
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in line
    assert "OAuth & Permissions" in line
    assert "could not reach" not in line


def test_unreachable_slack_is_told_apart_from_a_refused_token_in_one_line(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    closed_port = free_port()  # nothing listens there
    env = bot_env(
        fake_slack, tmp_path / "x.db", SLACK_API_URL=f"http://127.0.0.1:{closed_port}/api/"
    )

    result = run_once(env)

    assert result.returncode == 2
    line = result.stderr.splitlines()[-1]
    assert "slack_sdk" not in result.stderr  # no retry chatter before it
    assert f"could not reach Slack at http://127.0.0.1:{closed_port}/api/" in line
    assert "refused SLACK_BOT_TOKEN" not in line
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "extra", "named"),
    [
        (["--log-level", "verbose"], {}, "--log-level"),
        ([], {"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    ],
    ids=["flag", "variable"],
)
def test_an_unknown_log_level_exits_2_naming_where_it_came_from(
    fake_slack: FakeSlack, tmp_path: Path, args: list[str], extra: dict[str, str], named: str
) -> None:
    result = run_once(bot_env(fake_slack, tmp_path / "x.db", **extra), *args)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert named in line and "DEBUG, INFO, WARNING, ERROR" in line
    assert not fake_slack.calls_to("auth.test")  # refused before anything started


def test_the_start_up_log_names_the_mode_and_what_slack_must_reach(
    running_bot: tuple[str, Path, list[str]],
) -> None:
    [line] = [line for line in running_bot[2] if "leadloop runs in" in line]
    assert "HTTP mode" in line and "/slack/events" in line and "Socket Mode" in line


def run_once(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot run ARGS`` that is expected to stop by itself."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--port", str(free_port()), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_socket_mode_is_used_when_an_app_token_is_set(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.fail_next("apps.connections.open", error="invalid_auth")

    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=bot_env(fake_slack, tmp_path / "x.db", SLACK_APP_TOKEN="xapp-socket-token"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    [call] = fake_slack.calls_to("apps.connections.open")
    assert call.token == "xapp-socket-token"
    assert result.returncode == 2
    assert "Socket Mode" in result.stderr
    assert "xapp-socket-token" not in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_with_a_clear_message(fake_slack: FakeSlack, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=bot_env(fake_slack, tmp_path / "x.db"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_in_oauth_mode_serves_the_install_page_and_installs_a_workspace(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    database = tmp_path / "oauth.db"
    secret = "oauth-secret-never-logged-0123"
    env = bot_env(fake_slack, database, SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET=secret)
    del env["SLACK_BOT_TOKEN"], env["FEEDBACK_CHANNEL"]
    env["LOG_LEVEL"] = "DEBUG"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_log_line(process, "leadloop is listening")
        page = http_request(base_url + "/slack/install")
        state = page.text.split("state=", 1)[1].split("&", 1)[0]
        fake_slack.grant_install("code-1", team_id="T0NEW", team_name="New", installer_id="U0ME")
        done = http_request(
            f"{base_url}/slack/oauth_redirect?code=code-1&state={state}",
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        assert process.stderr is not None
        log = process.stderr.read()
        process.stderr.close()

    assert page.status == 200 and "oauth/v2/authorize" in page.text
    assert done.status == 200 and "leadloop is installed" in done.text
    assert secret not in log and "xoxb-T0NEW" not in log
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        bots = connection.execute(text("SELECT team_id FROM slack_bots")).all()
        workspaces = connection.execute(text("SELECT team_id FROM workspace")).all()
    engine.dispose()
    assert bots == [("T0NEW",)] and workspaces == [("T0NEW",)]


def test_a_flood_of_unsigned_requests_writes_a_few_short_lines_and_nothing_of_their_bodies(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    forged = "\n2026-01-05 09:00:00,000 ERROR leadloop: FORGED the database is gone\n"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)]
        + ["--workers", "2"],  # each worker logs at most five refusals a minute
        cwd=ROOT,
        env=bot_env(fake_slack, tmp_path / "x.db"),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        log.wait_for("leadloop is listening")
        before = len(log.lines)
        url = f"http://127.0.0.1:{port}/slack/events"
        now = str(int(time.time()))
        ways = [  # no signature, a wrong one, a stale one, a timestamp that is no number
            {},
            {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
            {"X-Slack-Request-Timestamp": "1500000000", "X-Slack-Signature": "v0=1"},
            {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=1"},
        ]
        huge = ("command=/rate-lead&text=BODY" + forged * 20_000).encode()[:900_000]
        statuses = {
            http_request(url, method="POST", body=huge, headers={"Content-Type": FORM}).status
        }
        for n in range(1000):
            body = f"command=/rate-lead&text=BODY {n}{forged}".encode()
            headers = {"Content-Type": FORM, **ways[n % len(ways)]}
            statuses.add(http_request(url, method="POST", body=body, headers=headers).status)
        assert statuses == {401}
        # Every line a request logs is written before its answer: this one comes last.
        end = '{"type": "event_callback", "event": "the end"}'
        headers = payloads.signed_headers(end, content_type="application/json")
        assert http_request(url, method="POST", body=end.encode(), headers=headers).status == 400
        last = log.wait_for("refused a signed Slack request of the wrong shape")
        assert stop_process(process) == 0
        whole = log.wait_until_closed()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert "FORGED" not in whole and "BODY" not in whole
    lines = log.lines[before : log.lines.index(last)]
    flood = "".join(line for line in lines if "leadloop is listening" not in line)
    assert len(flood.splitlines()) < 20, flood
    assert len(flood.encode()) < 4096, flood
    assert "(900,000 bytes): no signature" in flood  # its size and the reason, nothing else
