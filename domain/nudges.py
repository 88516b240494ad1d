"""The answer SLA's nudges and escalations: which are due, claimed once, owed to the outbox.

At a rating's SLA (in business hours), if it is still waiting for an answer, leadloop
nudges once in its thread, mentioning who should answer; at twice the SLA it escalates
once by DM to the workspace's marketing lead. Each is claimed as a scheduled post (the
unique claim row makes it once across workers and instances) and owed to the outbox in
the same transaction; the delivery process sends it, and checks again that the rating is
still waiting. Nothing is claimed outside business hours: a nudge that came due at night
goes out when the hours open. What is due comes from the database at every tick, so a
restart catches up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from domain.admin.settings import WorkspaceSettings
from domain.outbox_kinds import SLA_ESCALATION, SLA_NUDGE
from domain.sla import SLA_LOOKBACK, AnswerSla
from storage import outbox, scheduled_posts
from storage.models import Rating, Workspace
from storage.sla import waiting_ratings
from storage.workspaces import installed_workspaces

logger = logging.getLogger(__name__)


SessionFactory = Callable[[], Session]


def claim_sla_posts(
    session_factory: SessionFactory, *, now: datetime, defaults: WorkspaceSettings
) -> list[int]:
    """Claim every nudge and escalation due now; the ids of the outbox messages owed."""
    with session_factory() as session:
        workspaces = installed_workspaces(session)
    owed: list[int] = []
    for workspace in workspaces:
        settings = defaults.overridden_by(workspace)
        policy = settings.answer_sla_policy()
        if policy is None or not policy.hours.is_open(now, policy.zone):
            continue
        since = max(workspace.sla_since or workspace.installed_at, now - SLA_LOOKBACK)
        owed += _claim_kind(session_factory, workspace, policy, SLA_NUDGE, since, now)
        owed += _claim_kind(
            session_factory,
            workspace,
            policy,
            SLA_ESCALATION,
            since,
            now,
            to=settings.marketing_lead,
        )
    return owed


def _claim_kind(
    session_factory: SessionFactory,
    workspace: Workspace,
    policy: AnswerSla,
    kind: str,
    since: datetime,
    now: datetime,
    *,
    to: str | None = "",
) -> list[int]:
    """Claim ``kind`` for each waiting rating past its time; ``to`` None skips them all
    (an escalation with no marketing lead set: claimed as skipped, never sent later)."""
    with session_factory() as session:
        waiting = waiting_ratings(
            session, team_id=workspace.team_id, since=since, not_claimed_as=kind
        )
    owed: list[int] = []
    for rating, _lead in waiting:
        due = _due(policy, kind, rating)
        if due is None or due > now:
            continue
        with session_factory() as session:
            message_id = _claim(session, rating, kind, due=due, now=now, skip=to is None)
            session.commit()
        if message_id is not None:
            owed.append(message_id)
    return owed


def _due(policy: AnswerSla, kind: str, rating: Rating) -> datetime | None:
    if kind == SLA_NUDGE:
        return policy.answer_due(rating.created_at, rating.score)
    return policy.escalation_due(rating.created_at, rating.score)


def _claim(
    session: Session, rating: Rating, kind: str, *, due: datetime, now: datetime, skip: bool
) -> int | None:
    post = scheduled_posts.claim_occurrence(
        session,
        team_id=rating.team_id,
        kind=kind,
        subject_id=rating.id or -1,
        occurrence_at=rating.created_at,
        due_at=due,
        status=scheduled_posts.SKIPPED if skip else scheduled_posts.POSTED,
        now=now,
    )
    if post is None:
        return None  # another process claimed it first
    if skip:
        logger.info(
            "rating %s in %s is past twice its answer time; no marketing lead is set to hear it",
            rating.id,
            rating.team_id,
        )
        return None
    return outbox.owe_scheduled_post(
        session, kind=kind, scheduled_post_id=post.id or -1, team_id=rating.team_id, now=now
    )
