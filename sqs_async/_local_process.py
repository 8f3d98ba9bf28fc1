"""Process, socket and HTTP helpers of ``sqs_async.local``: the side that starts the server.

Layer: below ``sqs_async.local``, beside ``_local_server`` (the side that runs in the server's
process); standard library only.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "DropRequestLog",
    "ServerExited",
    "check_bindable",
    "describe",
    "endpoint_url",
    "family",
    "log_tail",
    "post",
    "run_threaded",
    "stop_threaded",
    "terminate",
]

STOP_TIMEOUT = 5.0  # after SIGTERM, before SIGKILL
LOG_TAIL_BYTES = 4000


class ServerExited(Exception):
    """The server process ended before it became ready."""

    def __init__(self, message: str, *, port_in_use: bool | None) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use  # None: unknown (no log to tell)


class DropRequestLog(logging.Filter):
    """Drops werkzeug's per-request INFO lines; warnings and errors still get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def endpoint_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_bindable(host: str, port: int) -> None:
    try:
        with socket.socket(family(host), socket.SOCK_STREAM) as sock:
            # As werkzeug does, so a port left in TIME_WAIT by an earlier server counts as free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise RuntimeError(f"cannot bind {host}:{port}: {exc}") from exc


def post(
    host: str, port: int, path: str, body: bytes, headers: Mapping[str, str], *, timeout: float
) -> tuple[int, str]:
    """POST with the stdlib; returns the status and the Content-Type's media type."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=dict(headers))
        response = conn.getresponse()
        response.read()
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, media_type
    finally:
        conn.close()


def log_tail(log_file: Path | None) -> str:
    if log_file is None:
        return ""
    try:
        with log_file.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - LOG_TAIL_BYTES))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


def describe(tail: str) -> str:
    if not tail.strip():
        return " (no log: pass log_file= to keep moto's output)"
    return f"; the end of its log:\n{tail.rstrip()}"


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait up to 5 s, then SIGKILL. Only this one process is signalled."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def run_threaded(server: Any, host: str, port: int, timeout: float) -> int:
    """``ThreadedMotoServer.start()`` with a deadline; returns the port it bound.

    moto binds in its serving thread and, should that fail, leaves ``start()`` waiting forever.
    `check_bindable` catches the usual causes first; this covers a port taken in between.
    """
    starter = threading.Thread(target=server.start, name="sqs_async-moto-start", daemon=True)
    starter.start()
    starter.join(timeout)
    if starter.is_alive():
        raise RuntimeError(f"moto's threaded server could not bind {host}:{port}")
    return int(server.get_host_and_port()[1])


def stop_threaded(server: Any) -> None:
    server.stop()
    # ThreadedMotoServer.stop() shuts the serving loop down but leaves the listening socket
    # open (moto 5.2.5), which would keep the port bound and leak a ResourceWarning.
    wsgi_server = getattr(server, "_server", None)
    if wsgi_server is not None:
        wsgi_server.server_close()
