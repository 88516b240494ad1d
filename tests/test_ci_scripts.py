"""The scripts CI and ``make test`` run before the suite: .ci/ensure-postgres."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
# What the script may use from the machine: a shell's basics, not PostgreSQL's client tools.
TOOLS = ("bash", "dirname", "awk", "seq", "sleep", "sed", "ls", "sort", "tail", "cat")


@pytest.fixture
def bare_path(tmp_path: Path) -> str:
    """A PATH holding only basic tools: no pg_isready, no psql."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (folder / tool).symlink_to(found)
    return str(folder)


def ensure_postgres(url: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "ensure-postgres")],
        env={"PATH": path, "TEST_DATABASE_URL": url, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="no PostgreSQL configured")
def test_ensure_postgres_finds_the_server_the_url_names_without_postgresql_client_tools(
    bare_path: str,
) -> None:
    result = ensure_postgres(os.environ["TEST_DATABASE_URL"], bare_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_ensure_postgres_names_the_url_without_its_password_when_nothing_answers(
    bare_path: str,
) -> None:
    url = f"postgresql://someone:hunter22@127.0.0.1:{free_port()}/nowhere"

    result = ensure_postgres(url, bare_path)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "127.0.0.1" in line and "/nowhere" in line
    assert "hunter22" not in line
    assert "make test TEST_DATABASE_URL=" in line


def test_ensure_postgres_does_nothing_when_no_postgresql_is_wanted(bare_path: str) -> None:
    assert ensure_postgres("", bare_path).returncode == 0
