"""SQLModel tables. Every row belongs to one Slack workspace (``team_id``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Field, SQLModel

RATING_VIA = ("command", "modal", "button")


def table_of(model: type[SQLModel]) -> Table:
    """The Core ``Table`` of a table model, for bulk statements.

    SQLModel sets ``__table__`` at run time but does not declare it, so the mapper is asked.
    """
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so without this a value would come back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; leadloop stores timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _timestamp_column(*, nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Lead(SQLModel, table=True):
    """A lead marketing handed to sales, known by its CRM reference."""

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("team_id", "external_ref", name="uq_lead_team_ref"),
        Index("ix_lead_team_created", "team_id", "created_at"),
        Index("ix_lead_team_owner", "team_id", "owner_id", "created_at"),
        Index("ix_lead_team_handed_off", "team_id", "handed_off_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    external_ref: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    company: str | None = Field(default=None, max_length=300)
    campaign: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=200)
    owner_id: str | None = Field(default=None, max_length=32)
    status: str | None = Field(default=None, max_length=8)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    # The signed timestamp of the last webhook request applied to it: older ones are ignored.
    webhook_signed_at: datetime | None = Field(
        default=None, sa_column=_timestamp_column(nullable=True)
    )
    # When an import or the webhook first brought the lead in: a lead only ever met by
    # /rate-lead was never handed off (NULL). Set once, so past weeks keep their count.
    handed_off_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))
    # When ``status`` took its current value: an outcome counts from then on.
    status_changed_at: datetime | None = Field(
        default=None, sa_column=_timestamp_column(nullable=True)
    )


class LeadFieldChange(SQLModel, table=True):
    """An import or the webhook changed a known lead's campaign, source or status: the value
    it had. Kept so that a week that ended before counts the lead as it was then."""

    __tablename__ = "lead_field_change"
    __table_args__ = (
        Index("ix_lead_field_change_lead", "team_id", "lead_id", "field", "changed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    lead_id: int = Field(foreign_key="lead.id")
    field: str = Field(max_length=16)
    value_before: str | None = Field(default=None, max_length=200)
    value_after: str | None = Field(default=None, max_length=200)
    changed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class Rating(SQLModel, table=True):
    """One rep's verdict on one lead's quality; a lead keeps every rating ever given."""

    __tablename__ = "rating"
    __table_args__ = (
        Index("ix_rating_team_created", "team_id", "created_at"),
        Index("ix_rating_team_lead_rater", "team_id", "lead_id", "rater_id", "created_at"),
        Index("ix_rating_team_post", "team_id", "post_channel", "post_ts", unique=True),
        Index("ix_rating_team_rater", "team_id", "rater_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    lead_id: int = Field(foreign_key="lead.id")
    rater_id: str = Field(max_length=32)
    score: int
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    via: str = Field(max_length=16)
    origin_channel: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    post_channel: str | None = Field(default=None, max_length=32)
    post_ts: str | None = Field(default=None, max_length=32)
    posted_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))


class RatingScoreChange(SQLModel, table=True):
    """A score button clicked again changed a button rating in place: the score it had.

    Kept so that a week that ended before the change still counts the score of then.
    """

    __tablename__ = "rating_score_change"
    __table_args__ = (Index("ix_rating_score_change_rating", "team_id", "rating_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    rating_id: int = Field(foreign_key="rating.id")
    score_before: int
    score_after: int
    changed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class Response(SQLModel, table=True):
    """A reply in a rating post's thread: marketing's answer to sales' verdict."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("team_id", "channel", "ts", name="uq_response_team_channel_ts"),
        Index("ix_response_team_rating", "team_id", "rating_id", "created_at"),
        Index("ix_response_team_created", "team_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    rating_id: int = Field(foreign_key="rating.id")
    user_id: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    is_answer: bool = Field(default=True)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    # The last change leadloop saw, an edit or the deletion.
    edited_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))
    deleted: bool = Field(default=False)
    deleted_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))


class RatingVerdict(SQLModel, table=True):
    """Marketing's one-click verdict on a rating post: agree, dispute (with its reason) or
    acknowledge. Agree and dispute answer the rating; an acknowledgement only says it was
    seen (the SLA nudges will read it). A person gives each verdict once per rating."""

    __tablename__ = "rating_verdict"
    __table_args__ = (
        UniqueConstraint(
            "team_id", "rating_id", "user_id", "verdict", name="uq_rating_verdict_once"
        ),
        Index("ix_rating_verdict_team_rating", "team_id", "rating_id", "created_at"),
        Index("ix_rating_verdict_team_created", "team_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    rating_id: int = Field(foreign_key="rating.id")
    user_id: str = Field(max_length=32)
    verdict: str = Field(max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class CampaignOwner(SQLModel, table=True):
    """Who in marketing answers for a campaign's leads (``/leadloop campaign``): the person
    an answer-SLA nudge about a rating of one of its leads mentions. Campaign names match
    the leads' ``campaign`` without regard to letter case."""

    __tablename__ = "campaign_owner"
    __table_args__ = (UniqueConstraint("team_id", "campaign_key", name="uq_campaign_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    campaign: str = Field(max_length=200)
    # ``campaign`` in lower case: what the unique key and the lookups compare.
    campaign_key: str = Field(max_length=200)
    owner_id: str = Field(max_length=32)
    set_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class CampaignOwnerChange(SQLModel, table=True):
    """A campaign's owner as it became at ``changed_at`` (None: it had none from then on).

    Append-only: every ``/leadloop campaign`` change and every owner an import or the
    webhook gives. A week's answer-time figures group ratings by the owners as of its end."""

    __tablename__ = "campaign_owner_change"
    __table_args__ = (
        Index("ix_campaign_owner_change_team", "team_id", "campaign_key", "changed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    campaign_key: str = Field(max_length=200)
    owner_id: str | None = Field(default=None, max_length=32)
    changed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class ProcessedEvent(SQLModel, table=True):
    """An Events API delivery already handled; Slack's retries reuse the ``event_id``."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("team_id", "event_id", name="uq_event_team_event"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    event_id: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class WebhookDelivery(SQLModel, table=True):
    """A lead-webhook request already applied, known by its signature: a replay changes nothing.

    The signature is unique across workspaces, so a request signed with the deployment's
    secret is applied once, whichever ``?workspace=`` it names. Kept a day, far longer
    than the 5-minute signature window.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("signature", name="uq_webhook_delivery_signature"),
        Index("ix_webhook_delivery_received", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    signature: str = Field(max_length=128)
    signed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    received_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A Slack post we owe someone; kept until Slack confirms it, retried by a background job.

    The row names what to send (``kind`` and the row it is about), never the Slack payload:
    the message is rendered when it is delivered.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("team_id", "dedupe_key", name="uq_outbox_team_dedupe"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=200)
    rating_id: int | None = Field(default=None, foreign_key="rating.id")
    scheduled_post_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("scheduled_post.id", name="fk_outbox_scheduled_post"),
            nullable=True,
        ),
    )
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    next_attempt_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))


class Meeting(SQLModel, table=True):
    """A recurring sales and marketing meeting whose reminders leadloop posts.

    The schedule is kept as local wall-clock time plus an IANA zone, so a 10:00 meeting
    stays at 10:00 local across daylight-saving changes.
    """

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_team", "team_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    title: str = Field(max_length=200)
    weekdays: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    every_weeks: int = Field(default=1)
    anchor_date: date
    local_time: str = Field(max_length=5)
    timezone: str = Field(max_length=64)
    remind_minutes: int = Field(default=15)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    active_since: datetime = Field(sa_column=_timestamp_column(nullable=False))
    paused: bool = Field(default=False)
    removed: bool = Field(default=False)


class ScheduledPost(SQLModel, table=True):
    """One occurrence of something posted on a schedule, claimed before it is posted.

    The unique key on (team, kind, subject, occurrence) is what makes a scheduled post go
    out once however many instances run: only one of them can insert the row.
    """

    __tablename__ = "scheduled_post"
    __table_args__ = (
        UniqueConstraint(
            "team_id", "kind", "subject_id", "occurrence_at", name="uq_scheduled_post_occurrence"
        ),
        Index("ix_scheduled_post_pending", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    subject_id: int
    occurrence_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    due_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    status: str = Field(max_length=16)
    claimed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    post_channel: str | None = Field(default=None, max_length=32)
    post_ts: str | None = Field(default=None, max_length=32)


class AgendaItem(SQLModel, table=True):
    """A topic someone added for a meeting; shown in its next reminder."""

    __tablename__ = "agenda_item"
    __table_args__ = (Index("ix_agenda_item_meeting", "team_id", "meeting_id", "shown_in_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    meeting_id: int = Field(foreign_key="meeting.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    added_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    shown_in_id: int | None = Field(default=None, foreign_key="scheduled_post.id")


class Workspace(SQLModel, table=True):
    """A Slack workspace leadloop runs in, recorded when the bot starts or is installed.

    The channel, time zone and user-group columns are what its admins chose with
    ``/leadloop settings``; None means "the environment's value". ``uninstalled_at`` is set
    while the app is uninstalled: nothing is scheduled or posted there until it comes back.
    ``lead_webhook_secret`` is the workspace's own, from ``/leadloop webhook new``.
    """

    __tablename__ = "workspace"

    team_id: str = Field(primary_key=True, max_length=32)
    team_name: str | None = Field(default=None, max_length=200)
    bot_user_id: str | None = Field(default=None, max_length=32)
    installed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    feedback_channel: str | None = Field(default=None, max_length=32)
    report_channel: str | None = Field(default=None, max_length=32)
    handoff_channel: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    sales_usergroup: str | None = Field(default=None, max_length=32)
    marketing_usergroup: str | None = Field(default=None, max_length=32)
    uninstalled_at: datetime | None = Field(
        default=None, sa_column=_timestamp_column(nullable=True)
    )
    # Signs this workspace's lead webhook instead of LEAD_WEBHOOK_SECRET. Kept as it is
    # given (HMAC needs the key itself), like the bot tokens in OAuth mode.
    lead_webhook_secret: str | None = Field(default=None, max_length=128, repr=False)
    # The answer SLA (domain/sla.py), as ``/leadloop settings`` writes them: "4h" or
    # "off", "2h", "mon-fri 09:00-18:00", a user ID. None means leadloop's default.
    answer_sla: str | None = Field(default=None, max_length=16)
    low_score_sla: str | None = Field(default=None, max_length=16)
    business_hours: str | None = Field(default=None, max_length=64)
    marketing_lead: str | None = Field(default=None, max_length=32)
    # Ratings from before this are never nudged (set when the SLA was introduced or turned
    # on again); None: since the workspace was recorded.
    sla_since: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))


class AnswerTimeSettingsChange(SQLModel, table=True):
    """A workspace's whole answer-time configuration as it became at ``changed_at``.

    Append-only: written with every change of ``answer_sla``, ``low_score_sla``,
    ``business_hours`` or ``timezone``, and when a workspace is first recorded. Values as the
    workspace row stores them: None means leadloop's (or the environment's) default. A week's
    answer-time figures use the configuration as of its end."""

    __tablename__ = "answer_time_settings_change"
    __table_args__ = (Index("ix_answer_time_settings_change_team", "team_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    answer_sla: str | None = Field(default=None, max_length=16)
    low_score_sla: str | None = Field(default=None, max_length=16)
    business_hours: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    changed_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class KpiValue(SQLModel, table=True):
    """A business KPI's actual value for one ISO week."""

    __tablename__ = "kpi_value"
    __table_args__ = (
        UniqueConstraint("team_id", "metric", "year", "week", name="uq_kpi_value_week"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    metric: str = Field(max_length=32)
    year: int
    week: int
    value: float
    set_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class KpiTarget(SQLModel, table=True):
    """A KPI's agreed target: absolute, relative to a baseline week, or annual growth."""

    __tablename__ = "kpi_target"
    __table_args__ = (UniqueConstraint("team_id", "metric", name="uq_kpi_target_metric"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    metric: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    value: float
    baseline_year: int | None = None
    baseline_week: int | None = None
    set_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class ReportSchedule(SQLModel, table=True):
    """When a workspace's weekly KPI report is posted (the default applies without a row)."""

    __tablename__ = "report_schedule"

    team_id: str = Field(primary_key=True, max_length=32)
    weekday: int
    local_time: str = Field(max_length=5)
    timezone: str = Field(max_length=64)
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class Handoff(SQLModel, table=True):
    """A new lead handed to sales; the outbox row named here owes its hand-off message.

    One per lead (the unique key), so re-importing a lead never hands it off twice.
    """

    __tablename__ = "handoff"
    __table_args__ = (
        UniqueConstraint("team_id", "lead_id", name="uq_handoff_team_lead"),
        UniqueConstraint("outbox_message_id", name="uq_handoff_outbox"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    lead_id: int = Field(foreign_key="lead.id")
    outbox_message_id: int = Field(foreign_key="outbox_message.id")
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class HandoffMessage(SQLModel, table=True):
    """A posted hand-off message, kept so that rating clicks can update it in place.

    ``target`` is where it was addressed (the owner's user ID or a channel ID); ``channel``
    is where Slack put it (a DM's own ID for the owner), which ``chat.update`` needs.
    """

    __tablename__ = "handoff_message"
    __table_args__ = (
        UniqueConstraint("team_id", "lead_id", "target", name="uq_handoff_message_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    lead_id: int = Field(foreign_key="lead.id")
    target: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    posted_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


class HandoffDigest(SQLModel, table=True):
    """One message handing many new leads of one import to an owner, or to the hand-off channel.

    ``owner_id`` NULL means the hand-off channel. ``channel`` and ``ts`` are set once it is
    posted, so that rating clicks can update it in place.
    """

    __tablename__ = "handoff_digest"
    __table_args__ = (UniqueConstraint("outbox_message_id", name="uq_handoff_digest_outbox"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    outbox_message_id: int = Field(foreign_key="outbox_message.id")
    owner_id: str | None = Field(default=None, max_length=32)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=_timestamp_column(nullable=False))
    posted_at: datetime | None = Field(default=None, sa_column=_timestamp_column(nullable=True))


class HandoffDigestLead(SQLModel, table=True):
    """A lead listed in a digest; digests list their leads in ``id`` order (file order)."""

    __tablename__ = "handoff_digest_lead"
    __table_args__ = (
        UniqueConstraint("digest_id", "lead_id", name="uq_handoff_digest_lead"),
        Index("ix_handoff_digest_lead_team_lead", "team_id", "lead_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    digest_id: int = Field(foreign_key="handoff_digest.id")
    lead_id: int = Field(foreign_key="lead.id")


class MemberRole(SQLModel, table=True):
    """A role an admin gave someone with ``/leadloop role`` (user groups give roles too)."""

    __tablename__ = "member_role"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "role", name="uq_member_role"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)
    set_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_column=_timestamp_column(nullable=False))


# slack-sdk's OAuth installation and state stores, on leadloop's database. The tables are
# built by the SDK itself, so the migration test notices if an SDK upgrade changes them.
SLACK_INSTALLATIONS_TABLE = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
SLACK_BOTS_TABLE = SQLAlchemyInstallationStore.build_bots_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_bots_table_name
)
SLACK_OAUTH_STATES_TABLE = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    SQLModel.metadata, SQLAlchemyOAuthStateStore.default_table_name
)
