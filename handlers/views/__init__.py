"""Block Kit: pure functions from the domain's data to Slack messages."""
