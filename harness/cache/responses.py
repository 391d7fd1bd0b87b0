"""Response cache: one SQLite file (WAL), one row per successful response, committed as it
arrives, so a crashed or killed run resumes without paying for a request twice. It stores and
gives back the one response type (harness.core.response.Response).

The key hashes the backend's identity (base_url, the model asked for, generation parameters,
and the model the server says it serves) with the messages; no API key is part of it or
stored in it. Errors are never cached.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from harness.core.response import Response, Usage


def request_key(identity: dict[str, Any], messages: list[dict[str, str]]) -> str:
    payload = {"identity": identity, "messages": messages}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, finish_reason TEXT, "
            "usage TEXT NOT NULL, system_fingerprint TEXT, latency REAL NOT NULL, created REAL NOT NULL)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        if "model" not in columns:  # a cache written before responses recorded their model
            self._db.execute("ALTER TABLE responses ADD COLUMN model TEXT")

    def get(self, key: str) -> Response | None:
        row = self._db.execute("SELECT text, finish_reason, usage, system_fingerprint, latency, model "
                               "FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        usage = json.loads(row[2])
        return Response(text=row[0], finish_reason=row[1], usage=Usage(**usage) if usage else None,
                        system_fingerprint=row[3], latency=row[4], model=row[5])

    def put(self, key: str, response: Response) -> None:
        """Committed before returning (autocommit): on disk before the caller counts it."""
        usage = response.usage.model_dump() if response.usage is not None else None
        self._db.execute("INSERT OR REPLACE INTO responses (key, text, finish_reason, usage, system_fingerprint, "
                         "latency, created, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (key, response.text, response.finish_reason, json.dumps(usage, sort_keys=True),
                          response.system_fingerprint, response.latency, time.time(), response.model))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()
