"""Sending at a platform's pace: one limiter per platform, kept by the outbox's deliverer
(not by the client library on top of it), so a burst waits instead of being refused."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most `count` sends within `seconds`."""

    count: int
    seconds: float


class Limiter:
    """Sliding-window limits per chat, per group chat and overall.

    `reserve(chat, group)` either books a send now (returns 0) or says how many seconds to
    wait before asking again; nothing is booked then, so a waiting send holds no slot."""

    def __init__(
        self,
        per_chat: Window,
        per_group: Window | None,
        overall: Window,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_chat, self.per_group, self.overall = per_chat, per_group, overall
        self.clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._group_sent: dict[str, deque[float]] = defaultdict(deque)
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self, chat: str, group: bool) -> float:
        with self._lock:
            now = self.clock()
            checks = [(self._sent[chat], self.per_chat), (self._all, self.overall)]
            if group and self.per_group is not None:
                checks.append((self._group_sent[chat], self.per_group))
            wait = max(_wait(times, window, now) for times, window in checks)
            if wait > 0:
                return wait
            for times, _window in checks:
                times.append(now)
            return 0.0

    def restamp(self, chat: str, group: bool) -> None:
        """The send booked last for `chat` ended only now (a chart took a while to draw and
        upload): count its windows from now, so the next message keeps the platform's pace."""
        with self._lock:
            now = self.clock()
            stamped = [self._sent[chat], self._all]
            if group and self.per_group is not None:
                stamped.append(self._group_sent[chat])
            for times in stamped:
                if times:
                    times[-1] = max(times[-1], now)


def _wait(times: deque[float], window: Window, now: float) -> float:
    while times and times[0] <= now - window.seconds:
        times.popleft()
    if len(times) < window.count:
        return 0.0
    return times[len(times) - window.count] + window.seconds - now


def telegram_limits() -> Limiter:
    """Telegram's flood limits: 1 message a second per chat, 20 a minute per group, about
    30 a second in all. Kept with a little margin, since the server's clock is not ours."""
    return Limiter(
        per_chat=Window(1, 1.05),
        per_group=Window(20, 61.0),
        overall=Window(28, 1.0),
    )
