"""The app's side of the load: answers streaming now, and answers that ended lately.

The sampler records it beside the engine's figures (the GPU tab), and /metrics reports the
answers streaming now.
"""

from __future__ import annotations

import time
from collections import deque


class StreamLoad:
    def __init__(self) -> None:
        self.active = 0
        # Bounded so that a flood of short requests cannot grow it without end.
        self._ended_at: deque[float] = deque(maxlen=100_000)

    def started(self) -> None:
        self.active += 1

    def ended(self) -> None:
        self.active -= 1
        self._ended_at.append(time.monotonic())

    def stats(self) -> dict[str, int]:
        """Answers streaming now, and requests that ended in the last minute."""
        cutoff = time.monotonic() - 60
        while self._ended_at and self._ended_at[0] < cutoff:
            self._ended_at.popleft()
        return {"active_streams": self.active, "requests_last_minute": len(self._ended_at)}
