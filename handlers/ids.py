"""Every callback_id, block_id and action_id leadloop uses, in one place."""

RATE_LEAD_COMMAND = "/rate-lead"
# The "Rate this lead" message shortcut (manifest.json: features.shortcuts).
RATE_FROM_MESSAGE = "rate_lead_from_message"

RATING_MODAL = "rate_lead_modal"
LEAD_BLOCK = "lead"
LEAD_INPUT = "lead_input"
SCORE_BLOCK = "score"
SCORE_INPUT = "score_input"
TAGS_BLOCK = "tags"
TAGS_INPUT = "tags_input"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"

MEETING_COMMAND = "/meeting"
MEETING_ADD_AGENDA = "meeting_add_agenda"
MEETING_SNOOZE = "meeting_snooze"
AGENDA_MODAL = "meeting_agenda_modal"
AGENDA_BLOCK = "agenda_item"
AGENDA_INPUT = "agenda_item_input"

KPI_COMMAND = "/kpi"

# Hand-off messages: score buttons are HANDOFF_SCORE + "_1" … "_5".
HANDOFF_ACTIONS_BLOCK = "handoff_actions"
HANDOFF_SCORE = "handoff_score"
HANDOFF_REASON = "handoff_rate_with_reason"

# Marketing's verdict buttons on a rating post (their value is the rating's id), and the
# dispute form.
VERDICT_ACTIONS_BLOCK = "verdict_actions"
VERDICT_AGREE = "verdict_agree"
VERDICT_ACKNOWLEDGE = "verdict_acknowledge"
VERDICT_DISPUTE = "verdict_dispute"
DISPUTE_MODAL = "verdict_dispute_modal"
DISPUTE_REASON_BLOCK = "dispute_reason"
DISPUTE_REASON_INPUT = "dispute_reason_input"

HOME_RATE_LEAD = "home_rate_lead"
HOME_REPORT = "home_report"
HOME_MEETINGS = "home_meetings"

ADMIN_COMMAND = "/leadloop"
