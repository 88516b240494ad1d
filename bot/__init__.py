"""leadloop: the Slack app that runs the feedback loop between sales and marketing."""
