"""Requests Slack did not sign are refused in a few short lines (bot/refusals.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.refusals import RefusalLog, SignedBySlack, unsigned_reason
from tests import slack_payloads as payloads

FORGED = "\n2026-01-05 09:00:00,000 ERROR leadloop: forged"


@dataclass
class Later:
    """Stands in for a timer: remembers what was scheduled; the test runs it."""

    scheduled: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def __call__(self, delay: float, action: Callable[[], None]) -> None:
        self.scheduled.append((delay, action))

    def run_all(self) -> None:
        scheduled, self.scheduled = self.scheduled, []
        for _delay, action in scheduled:
            action()


@dataclass
class Seconds:
    """A monotonic clock the test moves."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def refusal_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.INFO, logger="leadloop.refusals")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "leadloop.refusals"]


def test_a_refusal_is_one_line_with_the_path_size_and_reason(
    refusal_lines: Callable[[], list[str]],
) -> None:
    RefusalLog().refused(path="/slack/events", size=912_345, reason="no signature")

    assert refusal_lines() == [
        "refused a request to /slack/events that Slack did not sign (912,345 bytes): no signature"
    ]


def test_past_the_limit_refusals_are_counted_and_summed_up_once_the_window_ends(
    refusal_lines: Callable[[], list[str]],
) -> None:
    clock, later = Seconds(), Later()
    refusals = RefusalLog(limit=3, window=60.0, clock=clock, schedule=later)

    for _ in range(1000):
        refusals.refused(path="/slack/events", size=10, reason="no signature")
        clock.now += 0.01

    assert len(refusal_lines()) == 3
    [(delay, _)] = later.scheduled  # one summary, however many were left out
    assert delay == pytest.approx(60.0 - 0.03)  # from the first one left out
    later.run_all()
    assert refusal_lines()[3:] == [
        "refused 997 more requests that Slack did not sign in the last 60 s (not logged one by one)"
    ]


def test_a_new_window_logs_again(refusal_lines: Callable[[], list[str]]) -> None:
    clock, later = Seconds(), Later()
    refusals = RefusalLog(limit=2, window=60.0, clock=clock, schedule=later)
    for _ in range(5):
        refusals.refused(path="/slack/events", size=10, reason="no signature")

    clock.now += 61
    later.run_all()
    refusals.refused(path="/slack/events", size=10, reason="no timestamp")

    lines = refusal_lines()
    assert len(lines) == 4
    assert "3 more requests" in lines[2]
    assert lines[3].endswith("no timestamp")


def test_a_summary_with_nothing_left_out_says_nothing(
    refusal_lines: Callable[[], list[str]],
) -> None:
    later = Later()
    refusals = RefusalLog(limit=1, schedule=later)
    refusals.refused(path="/slack/events", size=1, reason="no signature")
    refusals.refused(path="/slack/events", size=1, reason="no signature")
    later.run_all()
    later.run_all()

    assert len(refusal_lines()) == 2


SIGNED_BODY = "token=x&text=hi"


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "reason"),
    [
        (SIGNED_BODY, "now", None, "no signature"),
        (SIGNED_BODY, None, "v0=00", "no timestamp"),
        (SIGNED_BODY, "soon", "v0=00", "the timestamp is not a number"),
        (SIGNED_BODY, "stale", "sign", "the timestamp is more than 5 minutes off"),
        (SIGNED_BODY, "now", "v0=00", "the signature does not match"),
        (b"\xff\xfe", "now", "v0=00", "the body is not UTF-8"),
        (SIGNED_BODY, "now", "sign", None),
    ],
)
def test_each_refusal_names_its_reason(
    body: str | bytes, timestamp: str | None, signature: str | None, reason: str | None
) -> None:
    verifier = SignatureVerifier(payloads.SIGNING_SECRET)
    stamps = {"now": str(int(time.time())), "stale": str(int(time.time()) - 301)}
    stamp = stamps.get(timestamp or "", timestamp)
    if signature == "sign":
        assert stamp is not None and isinstance(body, str)
        signature = verifier.generate_signature(timestamp=stamp, body=body)

    found = unsigned_reason(verifier, body, timestamp=stamp, signature=signature)

    assert found == reason or (found and reason and found.startswith(reason))


def test_bolts_own_check_refuses_with_our_short_line_not_the_body(
    refusal_lines: Callable[[], list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    check = SignedBySlack(payloads.SIGNING_SECRET, refusals=RefusalLog())
    body = f"command=/rate-lead&response_url=https://hooks.slack.com/secret{FORGED}"
    stale = str(int(time.time()) - 600)
    signature = SignatureVerifier(payloads.SIGNING_SECRET).generate_signature(
        timestamp=stale, body=body
    )
    request = BoltRequest(
        body=body,
        headers={"x-slack-request-timestamp": stale, "x-slack-signature": signature},
    )

    answer = check.process(
        req=request, resp=BoltResponse(status=200), next=lambda: pytest.fail("passed on")
    )

    assert answer.status == 401
    [line] = refusal_lines()
    assert "5 minutes off" in line
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "hooks.slack.com" not in logged and "forged" not in logged


def test_a_stopping_process_logs_the_refusals_its_window_had_not_summed_up_yet(
    refusal_lines: Callable[[], list[str]],
) -> None:
    later = Later()
    refusals = RefusalLog(limit=1, schedule=later)
    for _ in range(4):
        refusals.refused(path="/slack/events", size=10, reason="no signature")

    refusals.flush()  # the worker stops before the window ends
    later.run_all()  # the timer, if it still fired, finds nothing left to say

    assert refusal_lines()[1:] == [
        "refused 3 more requests that Slack did not sign in the last 60 s (not logged one by one)"
    ]
