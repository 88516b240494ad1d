"""Campaign owners, scoped to one workspace. A campaign is named as its leads name it;
names compare without regard to letter case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import CampaignOwner, Lead


def set_campaign_owner(
    session: Session, *, team_id: str, campaign: str, owner_id: str | None, by: str, now: datetime
) -> bool:
    """Give the campaign an owner, or take its owner away (None); False if nothing changed."""
    row = campaign_owner_row(session, team_id=team_id, campaign=campaign)
    if owner_id is None:
        if row is None:
            return False
        session.delete(row)
        session.flush()
        return True
    if row is not None and row.owner_id == owner_id:
        return False
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
