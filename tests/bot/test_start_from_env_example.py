"""A new user's first start: ``cp .env.example .env``, fill in the required values, ``make run``.

Each test copies the shipped ``.env.example`` into an empty directory as ``.env``, changes
only the lines a user (or the test's fakes) must change, and runs the installed ``leadloop
run`` there with an environment that holds no Slack or database variable: whatever leadloop
knows, it read from that ``.env``, as on a user's machine. The fake Slack answers the Web
API; in Socket Mode a fake Socket Mode server delivers the slash command over a WebSocket.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import create_db_engine
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode
from tests.processes import ProcessLog, free_port, stop_process
from tests.slack_app_client import HttpAnswer, http_request

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
# The console script `make run` starts, from the virtualenv running these tests.
LEADLOOP = Path(sys.executable).with_name("leadloop")
REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEEDBACK_CHANNEL")
BOT_TOKEN = "xoxb-1111-2222-firststart"
APP_TOKEN = "xapp-1-A0LEADLOOP-3333-firststart"
COMMAND_TEXT = "ACME-1042 2 no budget"


def env_file_from_example(directory: Path, **changes: str) -> Path:
    """``cp .env.example DIRECTORY/.env``, then set each ``NAME=value`` line in ``changes``.

    Every other line stays as shipped. A name the example does not list exactly once fails
    the test: the example is what is under test, so nothing is added to it.
    """
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    for name, value in changes.items():
        at = [i for i, line in enumerate(lines) if line.startswith(f"{name}=")]
        assert len(at) == 1, f".env.example should list {name}= once, not {len(at)} times"
        lines[at[0]] = f"{name}={value}\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".env"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def filled_in(
    fake_slack: FakeSlack, database_url: str, *, app_token: str = APP_TOKEN
) -> dict[str, str]:
    """The required values a user fills in, plus where the fakes and the database are."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "SLACK_APP_TOKEN": app_token,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
    }


def user_environment(home: Path, **extra: str) -> dict[str, str]:
    """A login shell's environment: no SLACK_*, DATABASE_URL or LEADLOOP_ENV_FILE."""
    login = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    return login | extra


@contextmanager
def leadloop_run(
    directory: Path, env: dict[str, str], *args: str
) -> Iterator[tuple[subprocess.Popen[str], ProcessLog]]:
    """``leadloop run ARGS`` in ``directory``; stopped afterwards with Ctrl-C, as a user stops
    ``make run`` (SIGINT to its process group), and killed if that does not stop it."""
    assert LEADLOOP.exists(), f"{LEADLOOP} is missing: pip install -e '.[dev]'"
    process = subprocess.Popen(
        [str(LEADLOOP), "run", *args],
        cwd=directory,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        yield process, log
    finally:
        stop_process(process, signal_number=signal.SIGINT, process_group=True)
        log.wait_until_closed()


@contextmanager
def bot_in_http_mode(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str, **environment: str
) -> Iterator[tuple[str, subprocess.Popen[str], ProcessLog]]:
    """A user's bot with SLACK_APP_TOKEN emptied: HTTP on a free port; yields its base URL."""
    directory = tmp_path / "leadloop"
    env_file_from_example(directory, **filled_in(fake_slack, database_url, app_token=""))
    port = free_port()
    env = user_environment(tmp_path, **environment)
    with leadloop_run(directory, env, "--host", "127.0.0.1", "--port", str(port)) as running:
        process, log = running
        log.wait_for("leadloop is listening")
        yield f"http://127.0.0.1:{port}", process, log


def send_slash_command(base_url: str, fake_slack: FakeSlack, command_text: str) -> HttpAnswer:
    """``/rate-lead COMMAND_TEXT``, signed as Slack signs it, to the bot's /slack/events."""
    body = payloads.form_body(
        payloads.slash_command(command_text, response_url=fake_slack.response_url())
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    return http_request(
        base_url + "/slack/events", method="POST", body=body.encode(), headers=headers
    )


def stored_ratings(database_url: str) -> list[tuple[object, ...]]:
    """(team, lead, score, reason, post channel, post ts) of every stored rating."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT rating.team_id, lead.external_ref, rating.score, rating.reason, "
                    "rating.post_channel, rating.post_ts "
                    "FROM rating JOIN lead ON lead.id = rating.lead_id ORDER BY rating.id"
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def assert_confirmed_and_posted(fake_slack: FakeSlack, confirmation: object) -> None:
    """The rep's confirmation (the ack itself) names the lead; its post reaches the channel."""
    # The rating is stored before the ack, and posted after it.
    assert "ACME-1042" in str(confirmation)
    assert fake_slack.calls_to("response_url") == []
    [post] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert post.token == BOT_TOKEN
    assert post.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert "ACME-1042" in str(post.params)


def assert_stored_and_known_as_posted(database_url: str) -> None:
    """Once the bot stopped (finishing its accepted work): the rating and its post's ts."""
    [(team_id, lead, score, reason, post_channel, post_ts)] = stored_ratings(database_url)
    assert (team_id, lead, score, reason) == (payloads.TEAM_ID, "ACME-1042", 2, "no budget")
    assert post_channel == payloads.FEEDBACK_CHANNEL
    assert re.fullmatch(r"\d+\.\d{6}", str(post_ts)), post_ts  # the post is known as sent


def assert_stopped_cleanly(process: subprocess.Popen[str], log: ProcessLog) -> None:
    """Ctrl-C stopped the bot: exit status 0, "leadloop stopped", no traceback."""
    assert process.returncode == 0, log.text
    assert "leadloop stopped" in log.text
    assert "Traceback" not in log.text


def test_http_mode_from_the_example_rates_a_lead_and_posts_it(
    tmp_path: Path, fake_slack: FakeSlack, empty_database_url: str
) -> None:
    with bot_in_http_mode(tmp_path, fake_slack, empty_database_url) as (base_url, process, log):
        answer = send_slash_command(base_url, fake_slack, COMMAND_TEXT)
        assert answer.status == 200
        assert_confirmed_and_posted(fake_slack, answer.json())
        [mode_line] = log.containing("leadloop runs in")
    assert "leadloop runs in HTTP mode on http://127.0.0.1:" in mode_line
    assert_stopped_cleanly(process, log)
    assert_stored_and_known_as_posted(empty_database_url)
    assert {call.token for call in fake_slack.calls_to("auth.test")} == {BOT_TOKEN}
    assert not fake_slack.calls_to("apps.connections.open")


def test_socket_mode_from_the_example_acks_the_envelope_rates_and_posts(
    tmp_path: Path, fake_slack: FakeSlack, empty_database_url: str
) -> None:
    directory = tmp_path / "leadloop"
    env_file_from_example(directory, **filled_in(fake_slack, empty_database_url))
    with FakeSocketMode() as socket_mode:
        fake_slack.socket_mode_url = socket_mode.url
        # Exactly what `make run` runs: no host, no port.
        with leadloop_run(directory, user_environment(tmp_path)) as (process, log):
            socket_mode.wait_connected(timeout=20)
            command = payloads.slash_command(COMMAND_TEXT, response_url=fake_slack.response_url())
            envelope_id = socket_mode.send_envelope("slash_commands", command)

            ack = socket_mode.wait_for_ack(envelope_id, timeout=5)
            assert_confirmed_and_posted(fake_slack, ack.get("payload"))
            [mode_line] = log.containing("leadloop runs in")
    assert ack["envelope_id"] == envelope_id
    assert set(ack) <= {"envelope_id", "payload"}
    assert "leadloop runs in Socket Mode" in mode_line
    assert_stopped_cleanly(process, log)
    assert_stored_and_known_as_posted(empty_database_url)
    [connection] = fake_slack.calls_to("apps.connections.open")
    assert connection.token == APP_TOKEN


def test_the_example_copied_unchanged_exits_2_naming_the_bot_token(tmp_path: Path) -> None:
    directory = tmp_path / "leadloop"
    directory.mkdir()
    shutil.copy(ENV_EXAMPLE, directory / ".env")

    result = subprocess.run(
        [str(LEADLOOP), "run"],
        cwd=directory,
        env=user_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "SLACK_BOT_TOKEN" in line and "example value" in line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (directory / "data").exists()  # refused before anything was created


@pytest.mark.parametrize("name", REQUIRED)
def test_each_required_value_left_as_in_the_example_is_named(
    tmp_path: Path, fake_slack: FakeSlack, name: str
) -> None:
    directory = tmp_path / "leadloop"
    values = filled_in(fake_slack, f"sqlite:///{tmp_path / 'x.db'}")
    shipped = re.search(rf"^{name}=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert shipped is not None
    env_file_from_example(directory, **(values | {name: shipped.group(1)}))

    result = subprocess.run(
        [str(LEADLOOP), "run"],
        cwd=directory,
        env=user_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert f"{name}: still holds the example value" in line
    assert "Traceback" not in result.stderr
    assert not fake_slack.calls  # refused before anything reached Slack


@pytest.mark.parametrize(
    "exported",
    [False, True],
    ids=["empty-in-env-file", "empty-in-env-file-and-environment"],
)
def test_empty_oauth_lines_keep_single_workspace_mode_and_the_bot_answers(
    tmp_path: Path, fake_slack: FakeSlack, empty_database_url: str, exported: bool
) -> None:
    # `docker run --env-file .env` (or compose's env_file) exports the empty lines too.
    environment = {"SLACK_CLIENT_ID": "", "SLACK_CLIENT_SECRET": ""} if exported else {}
    with bot_in_http_mode(tmp_path, fake_slack, empty_database_url, **environment) as (
        base_url,
        _,
        log,
    ):
        env_file = (tmp_path / "leadloop" / ".env").read_text().splitlines()
        assert "SLACK_CLIENT_ID=" in env_file and "SLACK_CLIENT_SECRET=" in env_file

        help_answer = send_slash_command(base_url, fake_slack, "help")
        rating_answer = send_slash_command(base_url, fake_slack, COMMAND_TEXT)
        install_page = http_request(base_url + "/slack/install")

        # OAuth mode would answer every command with an empty 200 and drop it.
        assert help_answer.status == 200
        assert "How to rate a lead" in help_answer.text
        assert rating_answer.status == 200
        assert_confirmed_and_posted(fake_slack, rating_answer.json())
        assert install_page.status == 404
    assert_stored_and_known_as_posted(empty_database_url)
    [mode_line] = log.containing("leadloop runs in")
    assert "leadloop runs in HTTP mode on http://127.0.0.1:" in mode_line
    assert "with OAuth installs" not in mode_line
    assert not log.containing("installing through OAuth")


def test_the_playground_starts_from_the_example_copied_unchanged(tmp_path: Path) -> None:
    """`cp .env.example .env`, then `make demo` in a terminal: the playground starts (the
    example names no Slack for it to refuse) and Ctrl-C stops it."""
    directory = tmp_path / "leadloop"
    env_file_from_example(directory)
    process = subprocess.Popen(
        [str(LEADLOOP), "playground", "--port", "0"],
        cwd=directory,
        env=user_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    started = process.stdout.readline()
    status = stop_process(process, signal_number=signal.SIGINT, process_group=True)
    stderr = process.stderr.read() if process.stderr else ""
    assert "the playground runs at http://127.0.0.1:" in started, stderr
    assert status == 0, stderr
    assert (directory / "data" / "playground.db").exists()
