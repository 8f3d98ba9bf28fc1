"""SQSConnection: the boto-style entry point (queues by name) over the low-level client.

Layer: the top of the library proper; it hands out :class:`~sqs_async.Queue` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ._client import Client
from ._config import MAX_VISIBILITY_TIMEOUT
from ._message import Message
from ._protocol.validate import check_queue_name, check_range
from ._queue import Queue, _queue_attributes
from .errors import QueueDoesNotExist, QueueNotEmpty, ValidationError

__all__ = ["SQSConnection", "connect_sqs"]


class SQSConnection(Client):
    """A connection to SQS: one pooled HTTP stack, shared by every queue it hands out.

    Construction does no I/O; the pools start on first use (or ``async with``) inside the
    running loop. Every low-level SQS operation is also here as a coroutine with botocore's
    name and shapes (``send_message(QueueUrl=..., MessageBody=...)``).

    Args:
        aws_access_key_id: Access key; with the secret, overrides the credential chain.
        aws_secret_access_key: Secret key.
        region: Region; default as in botocore: ``AWS_DEFAULT_REGION``, the profile's
            ``region`` in the config file, then ``AWS_REGION``; none anywhere raises
            ``NoRegionError`` when the connection opens (``us-east-1`` with an endpoint).
        endpoint_url: Any SQS-compatible server, used as written (path and query kept);
            default: the configured endpoint as botocore finds it (``AWS_ENDPOINT_URL_SQS``,
            ``AWS_ENDPOINT_URL``, the config file), else AWS's endpoint for the region
            (FIPS and dual-stack settings and every partition as in botocore).
        aws_session_token: Session token for temporary credentials.
        profile: Named profile in the AWS config files.
        max_connections: Pool size for ordinary calls.
        max_poll_connections: Pool size for long polls (kept apart from the rest).
        timeouts: Per-attempt :class:`~sqs_async.Timeouts`.
        retry: The :class:`~sqs_async.RetryPolicy`.
        limits: Client-side :class:`~sqs_async.Limits`.
        verify_checksums: Verify MD5s of bodies and attributes (turn off on FIPS hosts).
        protocol: ``"json"`` (AWS JSON 1.0, the default), ``"query"`` (the legacy form
            protocol, for servers that only speak it) or ``"auto"`` (JSON, falling back
            to query once if the server rejects JSON).
        transport: ``"http11"`` (the default: sqs_async's lean HTTP/1.1 client on asyncio,
            TLS verified against the system CA store or ``AWS_CA_BUNDLE``), ``"aiohttp"``
            (aiohttp's ``ClientSession``: five times the CPU per request, for setups that
            need its features), or a ``Transport`` object (a fake, in unit tests).
        proxies: Forward proxies, botocore's format (``{"https": "http://proxy:3128"}``);
            default: ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` from the environment.
        proxies_config: ``{"proxy_ca_bundle": path}``: the CA bundle for an https proxy.
        verify: ``True``, ``False`` or a CA bundle path; default: ``AWS_CA_BUNDLE``, the
            config file's ``ca_bundle``, else the system's CA store.
        client_cert: A client certificate for mutual TLS (a PEM file with the key, or a
            ``(certificate, key)`` pair).

    Example::

        async with SQSConnection(region="eu-west-1") as conn:
            queue = await conn.create_queue("jobs")
            await queue.write(queue.new_message("hello"))
    """

    async def __aenter__(self) -> SQSConnection:
        await super().__aenter__()
        return self

    def queue(self, url: str, message_class: type[Message] = Message) -> Queue:
        """A :class:`Queue` for a URL you already hold (no I/O)."""
        return Queue(self, url, message_class)

    async def create_queue(
        self,
        name: str,
        visibility_timeout: int | None = None,
        *,
        attributes: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Queue:
        """Create a queue, or return it when it exists with the same attributes.

        A name ending in ``.fifo`` makes a FIFO queue.

        Raises:
            ValidationError: Bad name or attribute value (before any I/O).
            QueueAlreadyExists: It exists with different attributes.
        """
        check_queue_name(name)
        attrs = dict(attributes or {})
        if visibility_timeout is not None:
            check_range("visibility_timeout", visibility_timeout, 0, MAX_VISIBILITY_TIMEOUT)
            attrs["VisibilityTimeout"] = visibility_timeout
        if name.endswith(".fifo"):
            attrs.setdefault("FifoQueue", True)
        params: dict[str, Any] = {"QueueName": name}
        if attrs:
            params["Attributes"] = _queue_attributes(attrs)
        if tags:
            params["tags"] = dict(tags)
        result = await self._call("CreateQueue", params)
        return Queue(self, result["QueueUrl"])

    async def get_all_queues(self, prefix: str = "") -> list[Queue]:
        """Every queue (whose name starts with ``prefix``), following pagination to the end."""
        params: dict[str, Any] = {"MaxResults": 1000}
        if prefix:
            params["QueueNamePrefix"] = prefix
        queues: list[Queue] = []
        while True:
            result = await self._call("ListQueues", params)
            queues.extend(Queue(self, url) for url in result.get("QueueUrls", ()))
            token = result.get("NextToken")
            if not token:
                return queues
            params["NextToken"] = token

    async def get_queue(self, name: str, *, owner_account_id: str | None = None) -> Queue | None:
        """The queue called ``name``, or ``None`` when it does not exist.

        ``name`` may also be a queue URL (``https://...``, as the CLI accepts): the queue is
        then asked for its ``QueueArn`` (which checks that it exists and fills in
        :attr:`Queue.arn`) and is ``None`` when there is no queue at that URL. Use
        :meth:`queue` to make a :class:`Queue` for a URL without asking SQS anything.
        Other errors (access denied, throttling...) raise: they do not mean "no queue".

        Raises:
            ValidationError: A bad queue name or URL, or a URL with ``owner_account_id``
                (the URL already names the account), before any I/O.
        """
        if isinstance(name, str) and name[:8].lower().startswith(("http://", "https://")):
            return await self._queue_at_url(name, owner_account_id)
        check_queue_name(name)
        params: dict[str, Any] = {"QueueName": name}
        if owner_account_id is not None:
            params["QueueOwnerAWSAccountId"] = owner_account_id
        try:
            result = await self._call("GetQueueUrl", params)
        except QueueDoesNotExist:
            return None
        return Queue(self, result["QueueUrl"])

    lookup = get_queue

    async def _queue_at_url(self, url: str, owner_account_id: str | None) -> Queue | None:
        if owner_account_id is not None:
            raise ValidationError(
                "get_queue: pass owner_account_id with a queue name, not with a URL "
                "(the URL already names the account)"
            )
        path = urlsplit(url).path.strip("/")
        if not path:
            raise ValidationError(f"{url!r} is not a queue URL (it has no queue name in its path)")
        queue = Queue(self, url)
        check_queue_name(queue.name)
        try:
            await queue.get_arn()
        except QueueDoesNotExist:
            return None
        return queue

    async def delete_queue(self, queue: Queue | str, *, force: bool = False) -> bool:
        """Delete a queue (a :class:`Queue` or a URL).

        Refuses a queue that still holds messages (visible, in flight or delayed) unless
        ``force=True``: SQS itself would delete it.

        Raises:
            QueueNotEmpty: The queue holds messages and ``force`` is false.
        """
        if isinstance(queue, str):
            if not queue:
                raise ValidationError("delete_queue needs a Queue or a queue URL")
            queue = Queue(self, queue)
        if not force:
            remaining = await queue.count(include_in_flight=True)
            if remaining:
                raise QueueNotEmpty(
                    f"queue {queue.name} holds about {remaining} "
                    f"message{'' if remaining == 1 else 's'}; "
                    "pass force=True to delete it anyway",
                    operation="DeleteQueue",
                )
        await self._call("DeleteQueue", {"QueueUrl": queue.url})
        return True


def connect_sqs(
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    *,
    region: str | None = None,
    **kwargs: Any,
) -> SQSConnection:
    """Create an :class:`SQSConnection` (no I/O). Same arguments.

    Example::

        async with sqs_async.connect_sqs(endpoint_url="http://127.0.0.1:4566") as conn:
            print(await conn.get_all_queues())
    """
    return SQSConnection(aws_access_key_id, aws_secret_access_key, region=region, **kwargs)
