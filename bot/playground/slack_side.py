"""What Slack's side does in the playground: turn what you typed or clicked into the signed
request Slack would send, POST it to the app's own entry point, and show its answer.

Every request goes over HTTP to ``/slack/events`` of the app's WSGI app, signed with the
playground's secret exactly as Slack signs (v0, timestamp and HMAC-SHA256), so the app
checks it as it checks Slack's.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.playground.slack_standin import SlackStandin
from handlers import ids

COMMANDS = ("/rate-lead", "/meeting", "/kpi", "/leadloop")
# leadloop's message shortcuts, callback ID -> name, as manifest.json declares them (a test
# keeps the two the same): the "More actions" menu on each message of the page offers them.
MESSAGE_SHORTCUTS = {ids.RATE_FROM_MESSAGE: "Rate this lead"}
APP_ID = "APLAYGROUND"
_CHANNEL_NAME = re.compile(r"(?<![<\w])#([a-z0-9][a-z0-9_-]*)")


class PlaygroundError(ValueError):
    """Something typed or clicked that Slack would not send either; said on the page."""


@dataclass
class SlackSide:
    """Sends the playground's requests to the app, signed, and records the answers."""

    standin: SlackStandin
    events_url: str  # the app's POST /slack/events
    signing_secret: str = field(repr=False)
    _event_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ typing

    def type_text(
        self, *, user_id: str, channel: str, text: str, thread_ts: str | None = None
    ) -> None:
        """A line typed in the message box: a slash command, or a message (in a thread)."""
        text = text.strip()
        if not text:
            raise PlaygroundError("type a message or a command")
        if text.startswith("/"):
            if thread_ts:
                raise PlaygroundError(
                    "Slack runs slash commands from the message box, not a thread"
                )
            self.command(user_id=user_id, channel=channel, text=text)
            return
        text = self._escaped(text)
        message = self.standin.add_user_message(
            channel=channel, user_id=user_id, text=text, thread_ts=thread_ts
        )
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user_id,
            "text": text,
            "ts": message["ts"],
            "team": self.standin.team_id,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "event_ts": message["ts"],
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if not channel.startswith("D"):  # leadloop subscribes to channels' messages, not DMs'
            self.event(event)

    def command(self, *, user_id: str, channel: str, text: str) -> None:
        """``/rate-lead …`` and the others, as Slack posts a slash command."""
        name, _, rest = text.partition(" ")
        if name not in COMMANDS:
            raise PlaygroundError(
                f"{name} is not one of leadloop's commands: {', '.join(COMMANDS)}"
            )
        fields = {
            "token": "playground",
            "team_id": self.standin.team_id,
            "team_domain": "playground",
            "channel_id": channel,
            "channel_name": self.standin.channels.get(channel, "directmessage"),
            "user_id": user_id,
            "user_name": self._name(user_id),
            "command": name,
            "text": self._escaped(rest.strip()),
            "api_app_id": APP_ID,
            "response_url": self.standin.response_url(user_id=user_id, channel=channel),
            "trigger_id": self.standin.trigger_for(user_id),
        }
        answer = self._post(urlencode(fields), "application/x-www-form-urlencoded")
        self.standin.add_note(user_id=user_id, channel=channel, answer=answer)

    # ------------------------------------------------------------------ events

    def event(self, event: dict[str, Any]) -> None:
        """An Events API envelope around ``event``."""
        envelope = {
            "token": "playground",
            "team_id": self.standin.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"EvPLAY{next(self._event_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.standin.team_id, "user_id": "UPLAYBOT", "is_bot": True}
            ],
        }
        self._post(json.dumps(envelope), "application/json")

    def open_home(self, *, user_id: str) -> None:
        """The person opened leadloop's App Home tab."""
        self.event(
            {
                "type": "app_home_opened",
                "user": user_id,
                "channel": self.standin.dm_of(user_id),
                "tab": "home",
                "event_ts": self.standin.next_ts(),
            }
        )

    # ------------------------------------------------------------------ clicks and forms

    def shortcut(self, *, user_id: str, callback_id: str, channel: str, ts: str) -> None:
        """A message shortcut picked from a message's "More actions" menu: ``message_action``."""
        if callback_id not in MESSAGE_SHORTCUTS:
            raise PlaygroundError(f"leadloop has no message shortcut {callback_id!r}")
        message = self.standin.find_message(channel, ts)
        if message is None:
            raise PlaygroundError("that message is gone")
        payload = {
            "type": "message_action",
            "token": "playground",
            "callback_id": callback_id,
            "trigger_id": self.standin.trigger_for(user_id),
            "action_ts": self.standin.next_ts(),
            "message_ts": ts,
            "team": {"id": self.standin.team_id, "domain": "playground"},
            "user": {"id": user_id, "name": self._name(user_id), "team_id": self.standin.team_id},
            "channel": {
                "id": channel,
                "name": self.standin.channels.get(channel, "directmessage"),
            },
            "message": {"type": "message", **message},
            "response_url": self.standin.response_url(user_id=user_id, channel=channel),
            "is_enterprise_install": False,
            "enterprise": None,
        }
        answer = self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        self.standin.add_note(user_id=user_id, channel=channel, answer=answer)

    def click(
        self,
        *,
        user_id: str,
        action_id: str,
        block_id: str,
        value: str,
        channel: str | None = None,
        ts: str | None = None,
        where: str = "message",
    ) -> None:
        """A button clicked on a message, in App Home or in a form: ``block_actions``."""
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "action_ts": self.standin.next_ts(),
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.standin.team_id, "domain": "playground"},
            "user": {"id": user_id, "name": self._name(user_id), "team_id": self.standin.team_id},
            "api_app_id": APP_ID,
            "trigger_id": self.standin.trigger_for(user_id),
            "actions": [action],
        }
        if where == "message":
            message = self.standin.find_message(str(channel), str(ts))
            if message is None:
                raise PlaygroundError("that message is gone")
            payload |= {
                "container": {
                    "type": "message",
                    "channel_id": channel,
                    "message_ts": ts,
                    "is_ephemeral": False,
                },
                "channel": {
                    "id": str(channel),
                    "name": self.standin.channels.get(str(channel), ""),
                },
                "message": message,
                "response_url": self.standin.response_url(user_id=user_id, channel=str(channel)),
            }
        else:
            view = (self.standin.homes if where == "home" else self.standin.modals).get(user_id)
            if view is None:
                raise PlaygroundError("that view is closed")
            payload |= {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def submit(self, *, user_id: str, values: dict[str, Any]) -> dict[str, str]:
        """The open form submitted with ``values``: ``view_submission``; the field errors."""
        view = self.standin.modals.get(user_id)
        if view is None:
            raise PlaygroundError("no form is open")
        payload = {
            "type": "view_submission",
            "team": {"id": self.standin.team_id, "domain": "playground"},
            "user": {"id": user_id, "name": self._name(user_id), "team_id": self.standin.team_id},
            "api_app_id": APP_ID,
            "trigger_id": self.standin.trigger_for(user_id),
            "view": {**view, "team_id": self.standin.team_id, "state": {"values": values}},
        }
        answer = self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        action = answer.get("response_action")
        if action == "errors":
            errors = answer.get("errors")
            return {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
        if action in ("update", "push") and isinstance(answer.get("view"), dict):
            self.standin.set_modal(user_id, {"id": view["id"], **answer["view"]})
            return {}
        self.standin.close_modal(user_id)
        return {}

    # ------------------------------------------------------------------ HTTP

    def _post(self, body: str, content_type: str) -> dict[str, Any]:
        stamp = str(int(time.time()))  # Slack's timestamp is real time, whatever the clock
        signature = str(
            SignatureVerifier(self.signing_secret).generate_signature(timestamp=stamp, body=body)
        )
        request = urllib.request.Request(
            self.events_url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise PlaygroundError(f"the app answered {error.code}") from None
        if not raw.strip():
            return {}
        try:
            answer = json.loads(raw)
        except ValueError:
            return {"text": raw.decode("utf-8", "replace")}
        return answer if isinstance(answer, dict) else {}

    def _name(self, user_id: str) -> str:
        person = next((p for p in self.standin.people if p.user_id == user_id), None)
        return person.name if person else user_id.lower()

    def _escaped(self, text: str) -> str:
        """What was typed as Slack sends it: ``&``, ``<`` and ``>`` escaped, and ``#channel``
        of a known channel as ``<#C…|name>``."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        ids = {name: cid for cid, name in self.standin.channels.items()}

        def link(match: re.Match[str]) -> str:
            cid = ids.get(match.group(1))
            return f"<#{cid}|{match.group(1)}>" if cid else match.group(0)

        return _CHANNEL_NAME.sub(link, text)
