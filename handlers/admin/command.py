"""The ``/leadloop`` admin command: stored before it is acknowledged, answered in the ack."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from domain.admin.parse import (
    USAGE,
    AdminHelp,
    ChangeSetting,
    ChangeWebhookSecret,
    ListCampaigns,
    ListRoles,
    SetCampaignOwner,
    SetRole,
    ShowSettings,
    ShowWebhook,
    parse_admin_command,
)
from domain.parsing import UsageError
from handlers.admin.settings import change_setting, settings_text
from handlers.admin.webhook import change_webhook_secret, webhook_text
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.views.ratings import escape_mrkdwn
from storage import campaigns
from storage import roles as store

logger = logging.getLogger(__name__)

NOT_ADMIN = "Only leadloop admins can do that. ADMIN_USERS lists the first admins."


def handle_admin(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Carry out the admin command, commit what it changes, then answer privately in the ack.

    Slack never sends an answered command again, so the change is stored first. The posts
    a new setting lets out are committed with it; the delivery process sends them.
    """
    try:
        answer = answer_admin_command(deps, command, client=client)
    except SQLAlchemyError:
        # One transaction per change: nothing of it was written, and the ack says so.
        logger.exception("could not carry out a /leadloop command")
        answer = DATABASE_DOWN
    ack(response_type="ephemeral", text=answer)


def answer_admin_command(deps: Deps, command: dict[str, Any], *, client: WebClient) -> str:
    """Carry out one ``/leadloop`` command: the text for its author, and posts to retry."""
    parsed = parse_admin_command(command.get("text") or "")
    if isinstance(parsed, UsageError):
        return parsed.message
    if isinstance(parsed, AdminHelp):
        return USAGE
    team_id, user_id = command["team_id"], command["user_id"]
    if not _is_admin(deps, team_id=team_id, user_id=user_id):
        return NOT_ADMIN
    if isinstance(parsed, ShowSettings):
        return settings_text(deps, team_id=team_id)
    if isinstance(parsed, ChangeSetting):
        return change_setting(deps, parsed, team_id=team_id, client=client)
    if isinstance(parsed, ShowWebhook):
        return webhook_text(deps, team_id=team_id)
    if isinstance(parsed, ChangeWebhookSecret):
        return change_webhook_secret(deps, team_id=team_id, own=parsed.own)
    with deps.session_before_ack() as session:
        if isinstance(parsed, ListRoles):
            return _list(session, team_id=team_id)
        if isinstance(parsed, ListCampaigns):
            return _campaigns(session, team_id=team_id)
        if isinstance(parsed, SetCampaignOwner):
            answer = _own(session, parsed, team_id=team_id, by=user_id, now=deps.clock())
        else:
            answer = _set(session, parsed, team_id=team_id, by=user_id, now=deps.clock())
        session.commit()
    return answer


def _own(
    session: Session, request: SetCampaignOwner, *, team_id: str, by: str, now: datetime
) -> str:
    name = escape_mrkdwn(request.campaign)
    changed = campaigns.set_campaign_owner(
        session,
        team_id=team_id,
        campaign=request.campaign,
        owner_id=request.owner_id,
        by=by,
        now=now,
    )
    if request.owner_id is None:
        if not changed:
            return f"The campaign *{name}* has no owner."
        return f"The campaign *{name}* has no owner now: reminders mention marketing."
    if not changed:
        return f"<@{request.owner_id}> already owns the campaign *{name}*."
    answer = (
        f"<@{request.owner_id}> now owns the campaign *{name}*: answer-time reminders about "
        "its leads' ratings mention them."
    )
    if not campaigns.leads_in_campaign(session, team_id=team_id, campaign=request.campaign):
        answer += " No lead names this campaign yet; check its spelling against your CRM's."
    return answer


def _campaigns(session: Session, *, team_id: str) -> str:
    rows = campaigns.campaign_owners(session, team_id=team_id)
    if not rows:
        return (
            'No campaign has an owner yet: `/leadloop campaign "Spring Webinar" owner @person` '
            "gives one."
        )
    return "*Campaign owners*\n" + "\n".join(
        f"• *{escape_mrkdwn(row.campaign)}*: <@{row.owner_id}>" for row in rows
    )


def _is_admin(deps: Deps, *, team_id: str, user_id: str) -> bool:
    with deps.session_before_ack() as session:
        return deps.roles.is_admin(session, team_id=team_id, user_id=user_id)


def _set(session: Session, request: SetRole, *, team_id: str, by: str, now: datetime) -> str:
    if request.role is None:
        removed = store.clear_roles(session, team_id=team_id, user_id=request.user_id)
        return f"Took away {removed} role(s) from <@{request.user_id}>."
    added = store.give_role(
        session, team_id=team_id, user_id=request.user_id, role=request.role, set_by=by, now=now
    )
    if not added:
        return f"<@{request.user_id}> already has the {request.role} role."
    return f"<@{request.user_id}> now has the {request.role} role."


def _list(session: Session, *, team_id: str) -> str:
    rows = store.all_roles(session, team_id=team_id)
    if not rows:
        return "No roles given with `/leadloop role` yet (user groups and ADMIN_USERS apply)."
    by_user: dict[str, list[str]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row.role)
    return "*Roles given here*\n" + "\n".join(
        f"• <@{user}>: {', '.join(roles)}" for user, roles in by_user.items()
    )
