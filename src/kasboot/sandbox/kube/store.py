"""Object storage: every object as JSON keyed by (group, plural, namespace, name), one global
resourceVersion counter, and a bounded history of watch events.

Reads are served from memory; every write goes through to SQLite when a state directory
is given, so the state (counter included) survives a restart. The event history is memory
only: after a restart, a watch from an older resourceVersion gets 410 Expired, exactly
what a client sees when the API server's watch cache has moved on."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ObjectKey = tuple[str, str, str, str]  # group, plural, namespace ("" when cluster scoped), name
Obj = dict[str, Any]

DEFAULT_HISTORY = 2000


@dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    type: str  # ADDED | MODIFIED | DELETED
    group: str
    plural: str
    namespace: str
    obj: Obj
    previous: Obj | None = None  # the state before a MODIFIED event


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[WatchEvent]


class Store:
    def __init__(self, state_dir: Path | None = None, history: int = DEFAULT_HISTORY) -> None:
        self._lock = threading.RLock()
        self._objects: dict[ObjectKey, Obj] = {}
        self._counter = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._subscribers: list[_Subscriber] = []
        self._db: sqlite3.Connection | None = None
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                state_dir / "kube.sqlite3", check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS objects (grp TEXT, plural TEXT, namespace TEXT,"
                " name TEXT, body TEXT, PRIMARY KEY (grp, plural, namespace, name))"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            self._load()
        # Events before this version may be missing from the history (a restart or eviction).
        self._history_floor = self._counter

    def _load(self) -> None:
        assert self._db is not None
        for grp, plural, namespace, name, body in self._db.execute(
            "SELECT grp, plural, namespace, name, body FROM objects"
        ):
            self._objects[(grp, plural, namespace, name)] = json.loads(body)
        row = self._db.execute("SELECT value FROM meta WHERE name = 'resource_version'").fetchone()
        self._counter = int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ---- reads -------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._counter

    @property
    def history_floor(self) -> int:
        with self._lock:
            return self._history_floor

    def get(self, key: ObjectKey) -> Obj | None:
        with self._lock:
            found = self._objects.get(key)
            return copy.deepcopy(found) if found is not None else None

    def list_objects(
        self, group: str, plural: str, namespace: str | None = None
    ) -> tuple[list[Obj], int]:
        """Objects of one resource (in one namespace, or all), sorted, and the list version."""
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (g, p, ns, _), obj in sorted(self._objects.items())
                if g == group and p == plural and (namespace is None or ns == namespace)
            ]
            return items, self._counter

    # ---- writes ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock across a read-modify-write so checks and writes are atomic."""
        with self._lock:
            yield self

    def next_version(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def put(self, key: ObjectKey, obj: Obj, event_type: str) -> None:
        """Store ``obj`` (its metadata.resourceVersion already set) and record the event."""
        with self._lock:
            previous = self._objects.get(key)
            self._objects[key] = copy.deepcopy(obj)
            self._persist(key, obj)
            self._record(event_type, key, obj, previous)

    def remove(self, key: ObjectKey, final_state: Obj) -> None:
        with self._lock:
            self._objects.pop(key, None)
            self._persist(key, None)
            self._record("DELETED", key, final_state)

    def keys_where(self, predicate: Callable[[ObjectKey], bool]) -> list[ObjectKey]:
        with self._lock:
            return [key for key in self._objects if predicate(key)]

    def _persist(self, key: ObjectKey, obj: Obj | None) -> None:
        if self._db is None:
            return
        with self._db:
            if obj is None:
                self._db.execute(
                    "DELETE FROM objects WHERE grp=? AND plural=? AND namespace=? AND name=?", key
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                    (*key, json.dumps(obj)),
                )
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('resource_version', ?)", (str(self._counter),)
            )

    def _record(
        self, event_type: str, key: ObjectKey, obj: Obj, previous: Obj | None = None
    ) -> None:
        version = int(obj["metadata"]["resourceVersion"])
        event = WatchEvent(
            version, event_type, key[0], key[1], key[2], copy.deepcopy(obj), previous
        )
        if self._history.maxlen is not None and len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0].resource_version
        self._history.append(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, event)
            except RuntimeError:  # the watcher's loop is gone
                self._subscribers.remove(subscriber)

    # ---- watches -----------------------------------------------------------------------

    def subscribe(self, after: int) -> tuple[list[WatchEvent], asyncio.Queue[WatchEvent]] | None:
        """Replay events newer than ``after`` and a queue for the ones to come; None when
        ``after`` is older than the history holds (the caller answers 410 Expired)."""
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        with self._lock:
            if after < self._history_floor:
                return None
            backlog = [e for e in self._history if e.resource_version > after]
            self._subscribers.append(_Subscriber(asyncio.get_running_loop(), queue))
        return backlog, queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.queue is not queue]
