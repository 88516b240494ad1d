"""The rules of leadloop, by feature, and the data each message shows.

No Slack payloads, no HTTP, no Block Kit: listeners and views sit above it.
"""
