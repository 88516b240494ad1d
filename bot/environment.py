"""Where leadloop's settings come from: the process environment over the ``.env`` file."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path

from dotenv import dotenv_values

# Variables that Bolt and slack-sdk read from os.environ by themselves when an object is
# built without them. leadloop passes every value explicitly, so none of them may stay
# visible: an empty SLACK_CLIENT_ID and SLACK_CLIENT_SECRET alone switch Bolt's App into
# OAuth mode with file stores, where it ignores the bot token and drops every request.
LIBRARY_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "SLACK_USER_SCOPES",
    "SLACK_REDIRECT_URI",
    "SLACK_INSTALL_PATH",
    "SLACK_REDIRECT_URI_PATH",
    "SLACK_VERIFICATION_TOKEN",
    "SLACK_INSTALLATION_S3_BUCKET_NAME",
    "SLACK_STATE_S3_BUCKET_NAME",
)


def read_environment(environ: Mapping[str, str], *, env_file: str | Path) -> dict[str, str]:
    """The settings' source: ``env_file``'s values, overridden by the real environment.

    The file's values go into the returned mapping only, never into ``os.environ``, so no
    library sees them. A missing file is the same as an empty one.
    """
    from_file = {name: value for name, value in dotenv_values(env_file).items() if value}
    return {**from_file, **environ}


def hide_from_libraries(environ: MutableMapping[str, str]) -> None:
    """Remove the Slack variables libraries would act on (the settings already hold them)."""
    for name in LIBRARY_VARIABLES:
        environ.pop(name, None)
