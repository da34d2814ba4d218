"""What a process keeps in memory between requests: a bounded map, read without a lock.

A process keeps registry rows, tenants' settings and consent set-ups, form classes, rendered
pages, signed CSRF tokens, verified session cookies. Each of them is a ``Kept``:

* at most ``size`` values; putting one more puts the oldest out (a value put again counts as
  new);
* reads take no lock (a dict read is atomic in CPython, and eviction removes the oldest key
  only); writes take one;
* a value may carry a **label**, the generation of what it was read from, and a **lifetime**:
  ``get(key, label)`` serves it only while the caller's current label is the one it was put
  under and its lifetime (``seconds``) has not run out. What keeps labels current (shared
  generations, session events) belongs to each user of this map.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class Kept(Generic[K, V]):
    """At most ``size`` values by key, each kept ``seconds`` at most (None: no limit)."""

    def __init__(self, size: int, seconds: float | None = None) -> None:
        self.size, self.seconds = size, seconds
        self._values: dict[K, tuple[float, Hashable, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, label: Hashable = None, default: D | None = None) -> V | D | None:
        """The value kept for ``key`` if it was put under ``label`` and has not expired,
        else ``default``."""
        hit = self._values.get(key)
        if hit is None or hit[1] != label or hit[0] < time.monotonic():
            return default
        return hit[2]

    def put(self, key: K, value: V, label: Hashable = None) -> None:
        expires = math.inf if self.seconds is None else time.monotonic() + self.seconds
        with self._lock:
            self._values.pop(key, None)  # put back last: the oldest go first
            self._values[key] = (expires, label, value)
            while len(self._values) > self.size:
                del self._values[next(iter(self._values))]

    def pop(self, key: K) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __iter__(self) -> Iterator[K]:
        """The keys kept, oldest first (expired ones too)."""
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)
