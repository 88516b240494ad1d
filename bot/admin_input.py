"""Parsing ``/leadloop`` admin text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.rating_input import unescape_slack
from storage.roles import ROLES

USAGE = (
    "*leadloop admin*\n"
    "`/leadloop role @person sales|marketing|admin`: give a role\n"
    "`/leadloop role @person none`: take away the roles given here\n"
    "`/leadloop roles`: who has which role\n"
    "Roles also come from the SALES_USERGROUP and MARKETING_USERGROUP user groups and from "
    "ADMIN_USERS. Marketing's thread replies count as answers to ratings."
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class SetRole:
    """``/leadloop role @person <role>``; role None takes the given roles away."""

    user_id: str
    role: str | None


@dataclass(frozen=True)
class ListRoles:
    """``/leadloop roles``."""


@dataclass(frozen=True)
class AdminHelp:
    """``/leadloop help``."""


@dataclass(frozen=True)
class AdminUsageError:
    """What was wrong, then how to write it."""

    problem: str

    @property
    def message(self) -> str:
        """The ephemeral text shown to the user."""
        return f"{self.problem}\n\n{USAGE}"


def parse_admin_command(text: str) -> SetRole | ListRoles | AdminHelp | AdminUsageError:
    """Parse ``/leadloop`` text (Slack escapes ``@person`` as ``<@U…|name>``)."""
    words = unescape_slack(text).split()
    if not words or words[0].lower() in {"help", "-h", "--help", "?"}:
        return AdminHelp()
    verb = words[0].lower()
    if verb == "roles":
        return ListRoles()
    if verb != "role":
        shown = "".join(ch if ch.isprintable() else "?" for ch in words[0][:30])
        return AdminUsageError(f"I don't know `/leadloop {shown}`.")
    if len(words) != 3:
        return AdminUsageError("Write `/leadloop role @person sales|marketing|admin|none`.")
    user_id = _user(words[1])
    if user_id is None:
        return AdminUsageError("Mention the person with @ (pick them from Slack's list).")
    role = words[2].lower()
    if role == "none":
        return SetRole(user_id, None)
    if role not in ROLES:
        return AdminUsageError(f"Roles are {', '.join(ROLES)} or none.")
    return SetRole(user_id, role)


def _user(word: str) -> str | None:
    mention = _MENTION.match(word)
    if mention:
        return mention.group(1)
    return word if _USER_ID.match(word) else None
