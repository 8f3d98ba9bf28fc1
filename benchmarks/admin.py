"""A tiny blocking client for the benchmark server's admin paths (/__bench/...).

Layer: used by workers and the harness outside timed windows only (it blocks the caller).
"""

from __future__ import annotations

import http.client
import json
from typing import Any


class Admin:
    """Keep-alive connection to the server's admin API."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._conn: http.client.HTTPConnection | None = None

    def call(self, path: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps(args or {}).encode()
        for attempt in (1, 2):  # one reconnect if the kept-alive connection went away
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self._conn.request("POST", f"/__bench/{path}", body=body)
                response = self._conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"admin {path}: HTTP {response.status} {data[:200]!r}")
            result: dict[str, Any] = json.loads(data)
            return result
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, Any]:
        return self.call("stats")

    def fill(self, queue: str, count: int, body: str) -> None:
        self.call("fill", {"queue": queue.rpartition("/")[2], "count": count, "body": body})

    def purge(self, queue: str) -> None:
        self.call("purge", {"queue": queue.rpartition("/")[2]})

    def drop(self, queue: str) -> None:
        self.call("drop", {"queue": queue.rpartition("/")[2]})

    def count(self, queue: str) -> dict[str, int]:
        return self.call("count", {"queue": queue.rpartition("/")[2]})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
