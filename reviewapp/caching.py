"""Per-process caches for what the hot path reads on every request and the database rarely changes.

Each process keeps its own copy, so a change made elsewhere reaches it within the cache's time;
after a change made in this process (and in tests) its owner clears it. No lock on reads:
an entry is replaced whole, so a reader sees an old entry or a new one, never half of each;
two threads may both reload at a refresh, as two processes do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RefreshedValue(Generic[T]):
    """A value loaded at most every `seconds()` seconds (read at each call, so settings apply)."""

    def __init__(self, load: Callable[[], T], *, seconds: Callable[[], float]) -> None:
        self._load = load
        self._seconds = seconds
        self._entry: tuple[float, Any] = (float("-inf"), None)

    def get(self) -> T:
        checked_at, value = self._entry
        now = time.monotonic()
        if now - checked_at >= self._seconds():
            value = self._load()
            self._entry = (now, value)
        return value

    def clear(self) -> None:
        """Load it on the next call."""
        self._entry = (float("-inf"), None)


class ExpiringCache(Generic[K, V]):
    """Entries kept for a time each, at most `max_size` of them: a full cache starts afresh."""

    def __init__(self, *, max_size: int) -> None:
        self._max_size = max_size
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def set(self, key: K, value: V, *, seconds: float) -> None:
        """Keep `value` for `seconds` (not at all when 0 or less)."""
        if seconds <= 0:
            return
        if len(self._entries) >= self._max_size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + seconds, value)

    def clear(self) -> None:
        self._entries.clear()
