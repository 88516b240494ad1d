"""``/leadloop webhook``: the lead webhook's secret for this workspace."""

from __future__ import annotations

from domain.leads.webhook_body import new_webhook_secret
from handlers.deps import Deps
from storage.workspaces import own_webhook_secret, set_webhook_secret

WEBHOOK_PATH = "/webhooks/leads"
HOW_TO_SEND = (
    "A CRM workflow POSTs leads as JSON to `https://<leadloop's address>{path}?workspace="
    '{team_id}`, signed with the secret (leadloop\'s README, "From a CRM", shows how).'
)


def webhook_text(deps: Deps, *, team_id: str) -> str:
    """Which secret signs this workspace's lead webhook, without ever showing it."""
    with deps.session_before_ack() as session:
        has_own = own_webhook_secret(session, team_id=team_id) is not None
    how = HOW_TO_SEND.format(path=WEBHOOK_PATH, team_id=team_id)
    if has_own:
        return (
            "This workspace's lead webhook has a secret of its own (it was shown once, when "
            f"it was made). {how}\n`/leadloop webhook new` replaces it; `/leadloop webhook "
            "default` goes back to the deployment's LEAD_WEBHOOK_SECRET."
        )
    if deps.lead_webhook_secret_set:
        return (
            "This workspace's lead webhook uses the deployment's LEAD_WEBHOOK_SECRET (ask "
            f"whoever runs leadloop for it). {how}\n`/leadloop webhook new` gives this "
            "workspace a secret of its own."
        )
    return (
        "The lead webhook is off in this workspace. `/leadloop webhook new` turns it on with "
        f"a secret of this workspace's own. {how}"
    )


def change_webhook_secret(deps: Deps, *, team_id: str, own: bool) -> str:
    """Make a new secret for this workspace (shown this once), or drop its own."""
    secret = new_webhook_secret() if own else None
    with deps.session_before_ack() as session:
        set_webhook_secret(session, team_id=team_id, secret=secret, now=deps.clock())
        session.commit()
    how = HOW_TO_SEND.format(path=WEBHOOK_PATH, team_id=team_id)
    if secret is not None:
        return (
            "This workspace's new lead-webhook secret, shown only this once: put it in your "
            f"CRM's secret store now.\n`{secret}`\n{how} The secret before it no longer works."
        )
    if deps.lead_webhook_secret_set:
        return (
            "This workspace's own webhook secret is gone; its lead webhook takes the "
            "deployment's LEAD_WEBHOOK_SECRET again."
        )
    return (
        "This workspace's own webhook secret is gone, and the deployment has no "
        "LEAD_WEBHOOK_SECRET: the lead webhook is off here. `/leadloop webhook new` turns it "
        "back on."
    )
