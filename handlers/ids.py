"""Every callback_id, block_id and action_id leadloop uses, in one place."""

RATE_LEAD_COMMAND = "/rate-lead"

RATING_MODAL = "rate_lead_modal"
LEAD_BLOCK = "lead"
LEAD_INPUT = "lead_input"
SCORE_BLOCK = "score"
SCORE_INPUT = "score_input"
TAGS_BLOCK = "tags"
TAGS_INPUT = "tags_input"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"
