"""The tests' fake Slack server, noting when each rating's post arrives.

``tests.fake_slack.FakeSlack`` records every call but not when it came. This subclass
notes the instant of each ``chat.postMessage`` as it is recorded, on the system's
monotonic clock (``time.monotonic()``, shared by every process on the machine), under the
lead reference its text names: leadloop's rating post reads "Lead <ref> rated <n>/5 by
...". The load client notes each ack on the same clock, so the two can be subtracted.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tests.fake_slack import Call, FakeSlack

if TYPE_CHECKING:
    from tests.fake_slack import _Fault

# The fallback text of a rating post (handlers/views/ratings.py: rating_post).
RATING_POST = re.compile(r"^Lead (\S+) rated \d/5 by ")


class PostClock(FakeSlack):
    """A fake Slack that knows when each rating post arrived, by lead reference."""

    def __init__(self, *, team_id: str) -> None:
        super().__init__(team_id=team_id)
        self._arrived: dict[str, list[float]] = {}
        self._posted = threading.Lock()

    def _record(self, call: Call) -> _Fault | None:
        arrived = time.monotonic()
        fault = super()._record(call)
        if call.method == "chat.postMessage":
            match = RATING_POST.match(str(call.params.get("text", "")))
            if match:
                with self._posted:
                    self._arrived.setdefault(match.group(1), []).append(arrived)
        return fault

    def arrivals(self, lead_ref: str) -> list[float]:
        """When each post of this lead's rating arrived (one, if it was posted once)."""
        with self._posted:
            return list(self._arrived.get(lead_ref, ()))

    def wait_for_posts(self, lead_refs: Iterable[str], timeout: float) -> int:
        """Block until every lead has its post, or ``timeout`` seconds; how many lack one.

        Looks every 20 ms (the arrival instants are noted as posts come, so this only
        decides when to stop waiting), over the leads still missing.
        """
        missing = set(lead_refs)
        deadline = time.monotonic() + timeout
        while True:
            with self._posted:
                missing = {ref for ref in missing if ref not in self._arrived}
            if not missing or time.monotonic() >= deadline:
                return len(missing)
            time.sleep(0.02)
