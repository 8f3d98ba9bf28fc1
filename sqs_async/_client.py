"""The low-level client: lifecycle, the request pipeline, one coroutine per SQS operation.

Layer: above ``_transport``, ``_signing``, ``_retry`` and ``_protocol``; below the queue,
the consumer and the friendly connection. One request goes: validate (before any I/O) →
serialize → sign → send on the right lane → parse or map the error → retry with backoff if
retriable → verify MD5s. No botocore request pipeline runs per call: botocore supplies
the credential chain only.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from ._config import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_POLL_CONNECTIONS,
    LONG_POLL_READ_MARGIN,
    MAX_WAIT_TIME_SECONDS,
    ClientConfig,
    Limits,
    RetryPolicy,
    Timeouts,
)
from ._protocol.checksums import check_received, check_sent, check_sent_batch
from ._protocol.validate import validate_request
from ._protocol.wire import JSON, WireProtocol, rejects_json
from ._retry import AdaptiveRateLimiter, RetryQuota, backoff_delay
from ._signing.credentials import CredentialProvider, Credentials
from ._signing.settings import Settings, check_region, region_nowait, resolve_settings
from ._signing.sigv4 import SigV4Signer
from ._transport.base import Response, Transport, check_url
from ._transport.tls import resolve_verify
from .errors import (
    ChecksumMismatch,
    ClientClosedError,
    ReadTimeout,
    SQSError,
    ThrottledError,
    for_code,
)

__all__ = ["Client", "ClientState"]

_VERSION = "0.1.0"
_USER_AGENT = f"sqs-async/{_VERSION}"
Protocol = Literal["json", "query", "auto"]
HttpClient = Literal["http11", "aiohttp"]


if TYPE_CHECKING:
    import yarl

log = logging.getLogger("sqs_async")


class _SwitchProtocol(Exception):
    """Internal: the server rejected JSON 1.0; resend the request with the query protocol."""


def _query_protocol() -> WireProtocol:
    from ._protocol.query import QueryProtocol

    return QueryProtocol()


class ClientState(enum.Enum):
    """Where a client is in its life: UNOPENED → OPENED → CLOSED."""

    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


def _parse_endpoint(endpoint: str) -> yarl.URL:
    """The endpoint as written: no normalisation of its path or query (as in botocore)."""
    return check_url(endpoint.partition("#")[0])


class Client:
    """Low-level SQS client: one typed coroutine per SQS operation.

    Every method takes botocore's parameter names and returns botocore's response shape
    (a dict), so code written for aiobotocore ports by dropping the client creation.
    :class:`~sqs_async.SQSConnection` adds the friendly boto-style calls on top.
    """

    def __init__(
        self,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_poll_connections: int = DEFAULT_MAX_POLL_CONNECTIONS,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        verify_checksums: bool = True,
        protocol: Protocol = "json",
        transport: Transport | HttpClient | None = None,
        proxies: Mapping[str, str] | None = None,
        proxies_config: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        client_cert: str | tuple[str, str] | None = None,
    ) -> None:
        if protocol not in ("json", "query", "auto"):
            raise ValueError(f"protocol must be 'json', 'query' or 'auto', not {protocol!r}")
        if transport is None:
            transport = "http11"
        if isinstance(transport, str) and transport not in ("http11", "aiohttp"):
            raise ValueError(
                f"transport must be 'http11', 'aiohttp' or a Transport, not {transport!r}"
            )
        self.protocol = protocol
        self._wire: WireProtocol = _query_protocol() if protocol == "query" else JSON
        self.config = ClientConfig(
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            limits=limits or Limits(),
            max_connections=max_connections,
            max_poll_connections=max_poll_connections,
            verify_checksums=verify_checksums,
            proxies=proxies,
            proxies_config=proxies_config,
            verify=verify,
            client_cert=client_cert,
        )
        if self.config.timeouts.total is not None:  # off by default: no cost per call then
            self._call = self._call_within_total  # type: ignore[method-assign]
        self._credentials = CredentialProvider(
            access_key=aws_access_key_id,
            secret_key=aws_secret_access_key,
            token=aws_session_token,
            profile=profile,
        )
        self._profile = profile
        if region:
            check_region(region)
        self._region_arg = region
        self.region: str | None = region_nowait(region)
        self._endpoint_arg = endpoint_url
        self._settings: Settings | None = None  # resolved by open()
        self.endpoint_url: str | None = None
        self._url = ""
        self._host = ""
        self._path = "/"
        self._signer: SigV4Signer | None = None
        self._http: HttpClient | None = transport if isinstance(transport, str) else None
        self._transport: Transport | None = None if isinstance(transport, str) else transport
        self._own_transport = self._http is not None
        self._state = ClientState.UNOPENED
        self._entered = False
        self._open_lock: asyncio.Lock | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._quota = RetryQuota()
        self._limiter = AdaptiveRateLimiter() if self.config.retry.mode == "adaptive" else None

    def __repr__(self) -> str:
        where = self.endpoint_url or self._endpoint_arg or f"region {self.region or '(unresolved)'}"
        return f"<{type(self).__name__} {where} {self._state.name.lower()}>"

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        """The lifecycle state."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._state is ClientState.CLOSED

    async def __aenter__(self) -> Any:
        if self._state is ClientState.CLOSED:
            raise ClientClosedError("cannot reopen a closed connection; create a new one")
        if self._entered:
            raise RuntimeError("this connection is already entered with 'async with'")
        self._entered = True
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Resolve the region and endpoint and create the connection pools.

        Called for you by ``async with`` or the first request. The region, endpoint and CA
        bundle are resolved as botocore resolves them (see ``_signing/settings.py``), in a
        worker thread, never on the event loop.

        Raises:
            NoRegionError: No region and no endpoint are configured anywhere.
            ValidationError: The endpoint is not an http(s) URL, or the region is invalid.
        """
        if self._state is ClientState.OPENED:
            return
        if self._state is ClientState.CLOSED:
            raise ClientClosedError("this connection is closed")
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self._state is not ClientState.UNOPENED:
                if self._state is ClientState.CLOSED:
                    raise ClientClosedError("this connection is closed")
                return
            settings = await asyncio.to_thread(
                resolve_settings, self._region_arg, self._endpoint_arg, self._profile
            )
            endpoint = settings.endpoint_url
            url = _parse_endpoint(endpoint)
            host = url.raw_host or ""
            if ":" in host:
                host = f"[{host}]"
            if not url.is_default_port():
                host = f"{host}:{url.port}"
            self._settings = settings
            self.region = settings.region
            self.endpoint_url = endpoint
            self._url = str(url)
            self._host = host
            self._path = url.raw_path_qs or "/"  # the signer signs the query too
            self._signer = SigV4Signer(self.region, "sqs")
            if self._transport is None:
                config = self.config
                sizes = (config.max_connections, config.max_poll_connections)
                # imported here: ``import sqs_async`` stays cheap (benchmarks/startup.py)
                from ._transport.http11 import Http11Transport

                make: Callable[..., Transport] = Http11Transport
                if self._http == "aiohttp":
                    # imported on demand: aiohttp costs ~100 ms to import (SSL contexts)
                    from ._transport.aiohttp_transport import AiohttpTransport

                    make = AiohttpTransport
                self._transport = make(
                    config.timeouts,
                    *sizes,
                    verify=resolve_verify(config.verify, settings.ca_bundle),
                    client_cert=config.client_cert,
                    proxies=config.proxies,
                    proxy_ca_bundle=(config.proxies_config or {}).get("proxy_ca_bundle"),
                )
            self._state = ClientState.OPENED

    def _adopt(self, task: asyncio.Task[Any]) -> None:
        """Own a task that must finish before the pools close (a consumer's last receive)."""
        if not task.done():
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Close the connection pools. Idempotent; the connection cannot be used afterwards.

        Work that stopped consumers handed over (a shutdown cancelled a second time, the
        release of messages held back in a FIFO group) is waited for first, bounded by
        the read timeout plus a margin. Consumers abandon their parked long polls when
        they stop, so nothing here waits for a long poll.
        """
        if self._state is ClientState.CLOSED:
            return
        try:
            if self._background:
                await asyncio.wait(
                    set(self._background),
                    timeout=max(self.config.timeouts.read, MAX_WAIT_TIME_SECONDS)
                    + LONG_POLL_READ_MARGIN,
                )
        finally:
            self._state = ClientState.CLOSED  # no new request starts from here on
            transport, self._transport = self._transport, None
            try:
                if transport is not None and self._own_transport:
                    await transport.aclose()
            finally:
                await self._credentials.aclose()

    aclose = close

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if getattr(self, "_state", None) is ClientState.OPENED and self._own_transport:
            _warn(
                f"unclosed {type(self).__name__}: use 'async with' or await close()",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    # -- the pipeline ---------------------------------------------------------------------

    async def _call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        validated: bool = False,
        verified: bool = False,
    ) -> dict[str, Any]:
        """Send one operation, with retries; return the parsed response.

        ``validated``: the caller built ``params`` itself and already checked every limit
        (batch entries with our own ids), so the checks are not run twice.
        ``verified``: the caller checks the response's MD5s itself (when
        ``config.verify_checksums``), in the loop where it reads the entries anyway.
        """
        if self._state is not ClientState.OPENED:
            await self.open()
        config = self.config
        if not validated:
            validate_request(operation, params, config.limits.max_message_bytes)
        wire = self._wire
        body = wire.encode(operation, params)
        read_timeout = config.timeouts.read
        long_poll = False
        if operation == "ReceiveMessage":
            wait = params.get("WaitTimeSeconds")
            if wait:
                long_poll = True
                read_timeout = max(read_timeout, wait + LONG_POLL_READ_MARGIN)
        headers = wire.headers(operation)
        retry = config.retry
        spent = 0
        attempt = 0
        while True:
            attempt += 1
            # One attempt, inline (no coroutine layer of its own: this runs per request).
            transport = self._transport
            if transport is None:
                raise ClientClosedError("this connection is closed")
            limiter = self._limiter
            try:
                if limiter is not None:
                    delay = limiter.acquire(time.monotonic())
                    if delay > 0:
                        await asyncio.sleep(delay)
                credentials = self._credentials.current() or await self._credentials.get()
                response = await transport.request(
                    self._url,
                    self._signed(headers, body, credentials),
                    body,
                    read_timeout=read_timeout,
                    long_poll=long_poll,
                )
                if response.status == 200:
                    if limiter is not None:
                        limiter.on_response(time.monotonic(), throttled=False)
                    result = wire.decode(operation, response.body)
                    break
                self._refuse(wire, operation, response)
            except _SwitchProtocol:
                wire = self._wire
                body = wire.encode(operation, params)
                headers = wire.headers(operation)
                attempt -= 1
                continue
            except SQSError as exc:
                exc.operation = operation
                if not type(exc).retriable or attempt >= retry.max_attempts:
                    raise
                cost = self._quota.acquire(exc)
                if cost is None:
                    raise
                spent += cost
                await asyncio.sleep(backoff_delay(attempt, retry))
        self._quota.release(spent)
        if config.verify_checksums and not verified:
            if operation == "ReceiveMessage":
                await self._verify_received(params, result)
            elif operation in _SENDS:
                _verify_sent(operation, params, result)
        return result

    async def _call_within_total(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        validated: bool = False,
        verified: bool = False,
    ) -> dict[str, Any]:
        """:meth:`_call` under ``Timeouts.total``: one deadline for all attempts and backoffs."""
        total = self.config.timeouts.total or 0.0
        wait = params.get("WaitTimeSeconds") if operation == "ReceiveMessage" else None
        if isinstance(wait, int | float) and not isinstance(wait, bool):
            total = max(total, wait + LONG_POLL_READ_MARGIN)  # a long poll is not cut short
        deadline = asyncio.timeout(total)
        try:
            async with deadline:
                return await Client._call(
                    self, operation, params, validated=validated, verified=verified
                )
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise ReadTimeout(
                f"no complete response within Timeouts.total={total}s (retries included)",
                operation=operation,
            ) from exc

    def _signed(
        self, headers: dict[str, str], body: bytes, credentials: Credentials
    ) -> dict[str, str]:
        """The request's headers: ``headers``, signed, plus Host and User-Agent."""
        signer = self._signer
        if signer is None:
            raise ClientClosedError("this connection is closed")
        signed = signer.sign(
            host=self._host, path=self._path, headers=headers, body=body, credentials=credentials
        )
        signed.update(headers)
        signed["Host"] = self._host
        signed["User-Agent"] = _USER_AGENT
        return signed

    def _refuse(self, wire: WireProtocol, operation: str, response: Response) -> NoReturn:
        """Raise the error of a response that is not a 200 (or switch protocols)."""
        info = wire.error(response.status, response.headers, response.body)
        if (
            self.protocol == "auto"
            and wire is JSON
            and rejects_json(response.status, info, response.body)
        ):
            if self._wire is JSON:
                log.info("%s does not speak AWS JSON 1.0; using the query protocol", self._url)
                self._wire = _query_protocol()
            raise _SwitchProtocol
        cls = for_code(info.code, response.status)
        limiter = self._limiter
        if limiter is not None:
            limiter.on_response(time.monotonic(), throttled=issubclass(cls, ThrottledError))
        raise cls(
            info.message,
            code=info.code,
            status=response.status,
            request_id=info.request_id,
            operation=operation,
        )

    # -- integrity ------------------------------------------------------------------------

    async def _verify_received(self, params: Mapping[str, Any], result: dict[str, Any]) -> None:
        try:
            for message in result.get("Messages", ()):
                check_received(message)
        except ChecksumMismatch:
            await self._release_all(params["QueueUrl"], result.get("Messages", ()))
            raise

    async def _release_all(self, queue_url: str, messages: Any) -> None:
        """Make messages whose batch failed its checksum visible again at once."""
        handles = [m["ReceiptHandle"] for m in messages if m.get("ReceiptHandle")]
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ]
            # best effort: they come back after their timeout anyway
            with contextlib.suppress(SQSError):
                await self._call(
                    "ChangeMessageVisibilityBatch", {"QueueUrl": queue_url, "Entries": entries}
                )

    # -- one coroutine per SQS operation (botocore names and shapes) ------------------------

    async def add_permission(self, **params: Any) -> dict[str, Any]:
        """AddPermission: let other AWS accounts use a queue."""
        return await self._call("AddPermission", params)

    async def cancel_message_move_task(self, **params: Any) -> dict[str, Any]:
        """CancelMessageMoveTask: stop a dead-letter redrive."""
        return await self._call("CancelMessageMoveTask", params)

    async def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        """ChangeMessageVisibility: set one message's visibility timeout."""
        return await self._call("ChangeMessageVisibility", params)

    async def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        """ChangeMessageVisibilityBatch: set the visibility of up to 10 messages."""
        return await self._call("ChangeMessageVisibilityBatch", params)

    async def create_queue_raw(self, **params: Any) -> dict[str, Any]:
        """CreateQueue, low-level (``create_queue`` is the boto-style call returning a Queue)."""
        return await self._call("CreateQueue", params)

    async def delete_message(self, **params: Any) -> dict[str, Any]:
        """DeleteMessage: delete one message by receipt handle."""
        return await self._call("DeleteMessage", params)

    async def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        """DeleteMessageBatch: delete up to 10 messages."""
        return await self._call("DeleteMessageBatch", params)

    async def delete_queue_raw(self, **params: Any) -> dict[str, Any]:
        """DeleteQueue, low-level and unguarded (``delete_queue`` refuses non-empty queues)."""
        return await self._call("DeleteQueue", params)

    async def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        """GetQueueAttributes."""
        return await self._call("GetQueueAttributes", params)

    async def get_queue_url(self, **params: Any) -> dict[str, Any]:
        """GetQueueUrl."""
        return await self._call("GetQueueUrl", params)

    async def list_dead_letter_source_queues(self, **params: Any) -> dict[str, Any]:
        """ListDeadLetterSourceQueues: the queues whose dead-letter queue this is."""
        return await self._call("ListDeadLetterSourceQueues", params)

    async def list_message_move_tasks(self, **params: Any) -> dict[str, Any]:
        """ListMessageMoveTasks."""
        return await self._call("ListMessageMoveTasks", params)

    async def list_queue_tags(self, **params: Any) -> dict[str, Any]:
        """ListQueueTags."""
        return await self._call("ListQueueTags", params)

    async def list_queues(self, **params: Any) -> dict[str, Any]:
        """ListQueues: one page (see ``get_all_queues`` for all of them)."""
        return await self._call("ListQueues", params)

    async def purge_queue(self, **params: Any) -> dict[str, Any]:
        """PurgeQueue: delete every message (takes up to 60 s on AWS)."""
        return await self._call("PurgeQueue", params)

    async def receive_message(self, **params: Any) -> dict[str, Any]:
        """ReceiveMessage: up to 10 messages; long-polls when ``WaitTimeSeconds`` > 0."""
        return await self._call("ReceiveMessage", params)

    async def remove_permission(self, **params: Any) -> dict[str, Any]:
        """RemovePermission."""
        return await self._call("RemovePermission", params)

    async def send_message(self, **params: Any) -> dict[str, Any]:
        """SendMessage."""
        return await self._call("SendMessage", params)

    async def send_message_batch(self, **params: Any) -> dict[str, Any]:
        """SendMessageBatch: up to 10 messages."""
        return await self._call("SendMessageBatch", params)

    async def set_queue_attributes(self, **params: Any) -> dict[str, Any]:
        """SetQueueAttributes."""
        return await self._call("SetQueueAttributes", params)

    async def start_message_move_task(self, **params: Any) -> dict[str, Any]:
        """StartMessageMoveTask: redrive messages out of a dead-letter queue."""
        return await self._call("StartMessageMoveTask", params)

    async def tag_queue(self, **params: Any) -> dict[str, Any]:
        """TagQueue."""
        return await self._call("TagQueue", params)

    async def untag_queue(self, **params: Any) -> dict[str, Any]:
        """UntagQueue."""
        return await self._call("UntagQueue", params)


_SENDS = frozenset({"SendMessage", "SendMessageBatch"})


def _verify_sent(operation: str, params: Mapping[str, Any], result: dict[str, Any]) -> None:
    if operation == "SendMessage":
        check_sent(params, result, operation)
        return
    entries = params["Entries"]
    positions = {entry["Id"]: i for i, entry in enumerate(entries)}
    successful = [item for item in result.get("Successful", ()) if item.get("Id") in positions]
    check_sent_batch(entries, successful, positions)
