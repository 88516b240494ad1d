"""Roles given with ``/leadloop role``; scoped by ``team_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import MemberRole
from storage.unique import add_unless_duplicate

SALES = "sales"
MARKETING = "marketing"
ADMIN = "admin"
ROLES = (SALES, MARKETING, ADMIN)


def give_role(
    session: Session, *, team_id: str, user_id: str, role: str, set_by: str, now: datetime
) -> bool:
    """Give ``user_id`` a role; False when they already had it."""
    row = MemberRole(team_id=team_id, user_id=user_id, role=role, set_by=set_by, updated_at=now)
    return add_unless_duplicate(session, row) is not None


def clear_roles(session: Session, *, team_id: str, user_id: str) -> int:
    """Take away every role given by command; user groups and ADMIN_USERS still apply."""
    result = session.exec(
        delete(MemberRole)
        .where(col(MemberRole.team_id) == team_id, col(MemberRole.user_id) == user_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def roles_given(session: Session, *, team_id: str, user_id: str) -> set[str]:
    """The roles given to one person by command."""
    statement = select(MemberRole.role).where(
        MemberRole.team_id == team_id, MemberRole.user_id == user_id
    )
    return set(session.exec(statement).all())


def members_with_role(session: Session, *, team_id: str, role: str) -> set[str]:
    """Everyone given ``role`` by command."""
    statement = select(MemberRole.user_id).where(
        MemberRole.team_id == team_id, MemberRole.role == role
    )
    return set(session.exec(statement).all())


def all_roles(session: Session, *, team_id: str) -> list[MemberRole]:
    """Every role given by command in the workspace, by person."""
    statement = (
        select(MemberRole)
        .where(MemberRole.team_id == team_id)
        .order_by(col(MemberRole.user_id), col(MemberRole.role))
    )
    return list(session.exec(statement).all())
