"""Campaign owners, scoped to one workspace. A campaign is named as its leads name it;
names compare without regard to letter case.

Every change of an owner is also kept (``CampaignOwnerChange``, append-only), so that a
past week's answer-time figures group its ratings by the owners of that week's end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import CampaignOwner, CampaignOwnerChange, Lead


def set_campaign_owner(
    session: Session, *, team_id: str, campaign: str, owner_id: str | None, by: str, now: datetime
) -> bool:
    """Give the campaign an owner, or take its owner away (None); False if nothing changed.

    A change is also appended to the campaign's owner history, in the same transaction.
    """
    row = campaign_owner_row(session, team_id=team_id, campaign=campaign)
    if owner_id is None:
        if row is None:
            return False
        session.delete(row)
        _keep_owner(session, team_id=team_id, campaign=campaign, owner_id=None, now=now)
        session.flush()
        return True
    if row is not None and row.owner_id == owner_id:
        return False
    _keep_owner(session, team_id=team_id, campaign=campaign, owner_id=owner_id, now=now)
    row = row or CampaignOwner(
        team_id=team_id,
        campaign=campaign,
        campaign_key=campaign.lower(),
        owner_id=owner_id,
        set_by=by,
        updated_at=now,
    )
    row.owner_id, row.set_by, row.updated_at = owner_id, by, now
    session.add(row)
    session.flush()
    return True


def _keep_owner(
    session: Session, *, team_id: str, campaign: str, owner_id: str | None, now: datetime
) -> None:
    session.add(
        CampaignOwnerChange(
            team_id=team_id, campaign_key=campaign.lower(), owner_id=owner_id, changed_at=now
        )
    )


def campaign_owners_as_of(session: Session, *, team_id: str, at: datetime) -> dict[str, str]:
    """Each campaign's owner at ``at``, by the campaign's name in lower case.

    A campaign's latest change at or before ``at`` decides; a campaign whose first change
    came after ``at`` had no owner then. (Owners from before the history began, migration
    0016, are dated 1970-01-01: they hold for every earlier week.)
    """
    table = CampaignOwnerChange
    statement = (
        select(table)
        .where(col(table.team_id) == team_id, col(table.changed_at) <= at)
        .order_by(col(table.changed_at), col(table.id))
    )
    owners: dict[str, str | None] = {}
    for change in session.exec(statement):
        owners[change.campaign_key] = change.owner_id
    return {campaign: owner for campaign, owner in owners.items() if owner is not None}


def campaign_owner_history(
    session: Session, *, team_id: str, since: datetime | None = None
) -> list[CampaignOwnerChange]:
    """Every owner change of the workspace's campaigns (from ``since`` on), oldest first."""
    table = CampaignOwnerChange
    statement = (
        select(table)
        .where(col(table.team_id) == team_id)
        .order_by(col(table.changed_at), col(table.id))
    )
    if since is not None:
        statement = statement.where(col(table.changed_at) >= since)
    return list(session.exec(statement).all())


def campaign_owner_row(session: Session, *, team_id: str, campaign: str) -> CampaignOwner | None:
    statement = select(CampaignOwner).where(
        CampaignOwner.team_id == team_id, CampaignOwner.campaign_key == campaign.lower()
    )
    return session.exec(statement).first()


def campaign_owner(session: Session, *, team_id: str, campaign: str | None) -> str | None:
    """The owner of the campaign, if it has one."""
    if not campaign:
        return None
    row = campaign_owner_row(session, team_id=team_id, campaign=campaign)
    return row.owner_id if row is not None else None


def campaign_owners(session: Session, *, team_id: str) -> list[CampaignOwner]:
    """The workspace's campaigns that have an owner, by name."""
    statement = (
        select(CampaignOwner)
        .where(CampaignOwner.team_id == team_id)
        .order_by(col(CampaignOwner.campaign_key))
    )
    return list(session.exec(statement).all())


def leads_in_campaign(session: Session, *, team_id: str, campaign: str) -> int:
    """How many of the workspace's leads name the campaign."""
    statement = select(func.count()).where(
        col(Lead.team_id) == team_id, func.lower(col(Lead.campaign)) == campaign.lower()
    )
    return int(session.exec(statement).one())
