"""The ``leadloop`` command: help, a friendly refusal without settings, and ``migrate``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.cli import main
from storage.engine import create_db_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "FEEDBACK_CHANNEL",
    "REPORT_CHANNEL",
    "SLACK_API_URL",
    "DATABASE_URL",
    "LEADLOOP_TZ",
    "PORT",
)


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No leadloop settings in the environment, and no developer's .env read."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    for name in SETTINGS_VARIABLES:
        # setenv first so that monkeypatch restores the original state even when
        # load_dotenv sets the variable during the test.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def run_leadloop(
    *args: str, tmp_path: Path, extra_env: dict[str, str] | None = None, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in a fresh process with only PATH and what the test gives
    (and ``umask``, unless -1)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": str(tmp_path / "no-such.env"),
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=umask,
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["run", "migrate", "export", ".env.example"]),
        (["run"], ["--host", "--port", "--log-level", "SLACK_APP_TOKEN"]),
        (["migrate"], ["DATABASE_URL"]),
        (["export"], ["--format", "--workspace", "--since", "ratings", "responses", "leads"]),
    ],
    ids=["leadloop", "run", "migrate", "export"],
)
def test_help_describes_each_command_and_exits_0(
    argv: list[str],
    expected: list[str],
    bare_environment: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: leadloop")
    for word in expected:
        assert word in out


def test_no_command_prints_usage_and_exits_2(
    bare_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])

    assert exited.value.code == 2
    assert "usage: leadloop" in capsys.readouterr().err


def test_run_without_settings_exits_2_with_one_line_naming_the_bot_token(
    bare_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert "SLACK_BOT_TOKEN" in line
    assert ".env.example" in line


def test_run_with_a_malformed_setting_names_it_without_echoing_the_token(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-5555-6666-user-token-pasted-by-mistake")

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err
    assert "xoxp-5555-6666-user-token-pasted-by-mistake" not in err


def test_run_reads_settings_from_the_env_file_it_is_pointed_at(
    bare_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The file supplies the token, so the first problem reported is the next variable.
    env_file = tmp_path / "leadloop.env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-the-env-file\n")
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(env_file))

    assert main(["run"]) == 2

    [line] = capsys.readouterr().err.splitlines()
    assert "SLACK_SIGNING_SECRET" in line


def test_run_in_a_fresh_process_without_settings_fails_in_one_line_without_traceback(
    tmp_path: Path,
) -> None:
    result = run_leadloop("run", tmp_path=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert "SLACK_BOT_TOKEN" in line
    assert ".env.example" in line


def test_migrate_creates_the_sqlite_database_and_can_run_again(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "x.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}

    first = run_leadloop("migrate", tmp_path=tmp_path, extra_env=env)
    assert first.returncode == 0, first.stderr
    assert database.is_file()
    assert "up to date" in first.stdout

    second = run_leadloop("migrate", tmp_path=tmp_path, extra_env=env)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr

    engine = create_db_engine(f"sqlite:///{database}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"lead", "rating", "response", "alembic_version"} <= tables


def test_migrate_creates_a_database_only_its_owner_can_read_whatever_the_umask(
    tmp_path: Path,
) -> None:
    database = tmp_path / "fresh" / "leadloop.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}

    result = run_leadloop("migrate", tmp_path=tmp_path, extra_env=env, umask=0)

    assert result.returncode == 0, result.stderr
    files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in database.parent.iterdir()}
    assert files.pop("leadloop.db") == 0o600
    assert set(files.values()) <= {0o600}  # a WAL or SHM file left behind, if any
    # The next leadloop process to open it: SQLite gives its WAL and SHM the database's mode.
    previous = os.umask(0)
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM lead")
            wal, shm = (Path(f"{database}{suffix}") for suffix in ("-wal", "-shm"))
            assert (stat.S_IMODE(wal.stat().st_mode), stat.S_IMODE(shm.stat().st_mode)) == (
                0o600,
                0o600,
            )
    finally:
        engine.dispose()
        os.umask(previous)


def test_an_unexpected_error_is_one_line_and_the_traceback_only_at_debug(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_args: object, _env: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.cli.command_migrate", broken)

    assert main(["migrate"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "unexpected error (RuntimeError)" in line and "LOG_LEVEL=DEBUG" in line

    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert main(["migrate"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_file_that_cannot_be_written_is_one_line_naming_it(
    bare_environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")

    code = main(["demo", "--database-url", f"sqlite:///{blocked}/demo.db"])

    assert code in (1, 2)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
