"""Every exception sqs_async raises on purpose.

The tree::

    SQSError                              .code .message .status .request_id .operation
    ├── ClientClosedError (RuntimeError)  used after close(): "you closed it"
    ├── ValidationError (ValueError)      bad input, raised before any network I/O
    │   ├── MessageTooLarge               body + attributes over the size limit
    │   └── NoRegionError                 no region configured anywhere (as in botocore)
    ├── QueueNotEmpty                     delete_queue() refused a non-empty queue (force=False)
    ├── MessageDecodeError (ValueError)   a received body the message class cannot decode
    ├── DrainIncomplete                   clear/dump/save/move could not reach every message
    ├── PartialBatchFailure               .succeeded, .failed: some entries of a batch failed
    ├── TransportError                    no valid response: "it broke"; __cause__ is chained
    │   ├── ConnectError
    │   ├── ConnectTimeout
    │   ├── ReadTimeout
    │   ├── PoolTimeout
    │   └── ResponseError                 unparseable or truncated response
    │       └── ChecksumMismatch          MD5 of body or attributes does not match
    └── ServiceError                      SQS answered with an error; .retriable
        ├── QueueDoesNotExist
        ├── QueueAlreadyExists            (alias QueueNameExists)
        ├── QueueDeletedRecently
        ├── PurgeQueueInProgress
        ├── ReceiptHandleInvalid          (alias ReceiptHandleIsInvalid)
        ├── MessageNotInflight
        ├── InvalidRequestError           InvalidParameterValue, InvalidAttributeName/Value, ...
        │   ├── InvalidMessageContents
        │   └── ServiceMessageTooLarge    the service's own size check (a MessageTooLarge too)
        ├── BatchRequestError             EmptyBatchRequest, TooManyEntriesInBatchRequest, ...
        ├── ThrottledError (retriable)    RequestThrottled, KmsThrottled (alias ThrottlingError)
        ├── OverLimit
        ├── AuthError                     InvalidSecurity, AccessDenied, SignatureDoesNotMatch, ...
        ├── KmsError                      KmsAccessDenied, KmsDisabled, ...
        ├── UnsupportedOperation
        ├── ResourceNotFound
        ├── ServiceUnavailable (retriable) 5xx, InternalError, ServiceUnavailable
        └── UnknownServiceError           any code we have no class for

Codes from the AWS JSON 1.0 protocol (``__type``, namespace stripped) and the legacy
query codes (``x-amzn-query-error``, e.g. ``AWS.SimpleQueueService.NonExistentQueue``)
both map to these classes through :func:`for_code`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "BatchRequestError",
    "ChecksumMismatch",
    "ClientClosedError",
    "ConnectError",
    "ConnectTimeout",
    "DrainIncomplete",
    "InvalidMessageContents",
    "InvalidRequestError",
    "KmsError",
    "MessageDecodeError",
    "MessageNotInflight",
    "MessageTooLarge",
    "NoRegionError",
    "OverLimit",
    "PartialBatchFailure",
    "PoolTimeout",
    "PurgeQueueInProgress",
    "QueueAlreadyExists",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "QueueNotEmpty",
    "ReadTimeout",
    "ReceiptHandleInvalid",
    "ReceiptHandleIsInvalid",
    "ResourceNotFound",
    "ResponseError",
    "SQSError",
    "ServiceError",
    "ServiceMessageTooLarge",
    "ServiceUnavailable",
    "ThrottledError",
    "ThrottlingError",
    "TransportError",
    "UnknownServiceError",
    "UnsupportedOperation",
    "ValidationError",
    "for_code",
]


class SQSError(Exception):
    """Base class of every exception sqs_async raises on purpose.

    Attributes:
        code: The service's error code (``None`` for client-side errors).
        message: A human-readable explanation.
        status: The HTTP status of the response, when there was one.
        request_id: The service's request id, when there was one.
        operation: The SQS operation (e.g. ``"SendMessage"``), when known.
    """

    retriable: ClassVar[bool] = False

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.operation = operation

    def __str__(self) -> str:
        parts = []
        if self.operation:
            parts.append(self.operation)
        if self.code:
            parts.append(self.code)
        head = ": ".join(parts)
        if head and self.message:
            return f"{head}: {self.message}"
        return head or self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, status={self.status!r})"
        )


class ClientClosedError(SQSError, RuntimeError):
    """The connection (or consumer, or batcher) was used after it was closed."""


class ValidationError(SQSError, ValueError):
    """Input the service would reject, caught before any network I/O.

    The message names the field and the limit, e.g.
    ``"message is 1048577 bytes (body and attributes); the limit is 1048576 bytes"``.
    """


class MessageTooLarge(ValidationError):
    """A message (body plus attributes) or a batch is over the size limit."""


class NoRegionError(ValidationError):
    """No region anywhere: not passed, not in the environment, not in the AWS config file.

    Raised when the connection opens, before any network I/O, as botocore raises its own
    ``NoRegionError``. A connection with an ``endpoint_url`` (given or configured) but no
    region signs for ``us-east-1`` instead, for local SQS-compatible servers.
    """


class QueueNotEmpty(SQSError):
    """``delete_queue()`` refused to delete a queue that still holds messages.

    Pass ``force=True`` to delete it anyway.
    """


class MessageDecodeError(SQSError, ValueError):
    """A received body could not be decoded by the queue's message class.

    Raised by ``message.get_body()``, not at receive time, so one bad message never costs
    the rest of its batch. ``raw`` holds the text as it came off the wire.
    """

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class DrainIncomplete(SQSError):
    """A whole-queue job (clear, dump, save, move) could not reach every message.

    Messages stayed visible but could not be received, e.g. a FIFO group locked by the
    messages a dump holds. ``done`` says how many the job had processed.
    """

    def __init__(self, message: str, *, done: int) -> None:
        super().__init__(message)
        self.done = done


class PartialBatchFailure(SQSError):
    """Some entries of a batch call failed.

    Attributes:
        succeeded: The ids of the entries that succeeded.
        failed: ``(entry_id, error)`` pairs for the entries that failed.
    """

    def __init__(
        self,
        message: str,
        *,
        succeeded: list[str],
        failed: list[tuple[str, SQSError]],
        operation: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation)
        self.succeeded = succeeded
        self.failed = failed


# -- transport ---------------------------------------------------------------------------


class TransportError(SQSError):
    """No valid response arrived; the underlying exception is chained as ``__cause__``."""

    retriable = True


class ConnectError(TransportError):
    """The connection could not be opened, or was reset before a response arrived."""


class ConnectTimeout(TransportError):
    """Opening the connection took longer than the connect timeout."""


class ReadTimeout(TransportError):
    """The response took longer than the read timeout."""


class PoolTimeout(TransportError):
    """No pooled connection became free within the pool timeout."""


class ResponseError(TransportError):
    """The response could not be understood (truncated, garbled, unexpected shape)."""


class ChecksumMismatch(ResponseError):
    """The MD5 of a message body or its attributes does not match what the service reported.

    Not retried automatically: a send whose checksum did not match may still have been stored.
    """

    retriable = False


# -- service -----------------------------------------------------------------------------


class ServiceError(SQSError):
    """SQS answered with an error. ``code`` holds the service's error code."""


class QueueDoesNotExist(ServiceError):
    """The queue does not exist (``AWS.SimpleQueueService.NonExistentQueue``)."""


class QueueAlreadyExists(ServiceError):
    """A queue with this name exists with different attributes."""


class QueueDeletedRecently(ServiceError):
    """A queue of this name was deleted less than 60 seconds ago."""


class PurgeQueueInProgress(ServiceError):
    """The queue was purged less than 60 seconds ago."""


class ReceiptHandleInvalid(ServiceError):
    """The receipt handle is not valid (malformed, or for another queue)."""


class MessageNotInflight(ServiceError):
    """The message is not in flight (its visibility timeout had already expired)."""


class InvalidRequestError(ServiceError):
    """The service rejected a parameter or attribute of the request."""


class InvalidMessageContents(InvalidRequestError):
    """The message body or an attribute holds characters SQS does not allow."""


class ServiceMessageTooLarge(InvalidRequestError, MessageTooLarge):
    """The service itself found the message or batch too large."""


class BatchRequestError(ServiceError):
    """The batch request itself was malformed (empty, too many entries, duplicate ids...)."""


class ThrottledError(ServiceError):
    """The request was throttled; retried with backoff."""

    retriable = True


class OverLimit(ServiceError):
    """An account or queue limit was reached (e.g. 120,000 in-flight messages)."""


class AuthError(ServiceError):
    """The credentials were refused, or lack permission."""


class KmsError(ServiceError):
    """A KMS error on an encrypted queue."""


class UnsupportedOperation(ServiceError):
    """The operation is not supported (e.g. on this kind of queue)."""


class ResourceNotFound(ServiceError):
    """A resource named in the request (e.g. a message move task) does not exist."""


class ServiceUnavailable(ServiceError):
    """The service failed (HTTP 5xx); retried with backoff."""

    retriable = True


class UnknownServiceError(ServiceError):
    """An error code sqs_async has no class for."""


# Aliases: STYLE.md / botocore spellings of the same failures.
QueueNameExists = QueueAlreadyExists
ReceiptHandleIsInvalid = ReceiptHandleInvalid
ThrottlingError = ThrottledError


_PREFIX = "AWS.SimpleQueueService."

_CODES: dict[str, type[ServiceError]] = {
    # queues
    "QueueDoesNotExist": QueueDoesNotExist,
    "NonExistentQueue": QueueDoesNotExist,
    "QueueNameExists": QueueAlreadyExists,
    "QueueAlreadyExists": QueueAlreadyExists,
    "QueueDeletedRecently": QueueDeletedRecently,
    "PurgeQueueInProgress": PurgeQueueInProgress,
    # messages
    "ReceiptHandleIsInvalid": ReceiptHandleInvalid,
    "MessageNotInflight": MessageNotInflight,
    "InvalidMessageContents": InvalidMessageContents,
    "MessageTooLong": ServiceMessageTooLarge,
    # requests
    "InvalidParameterValue": InvalidRequestError,
    "InvalidParameterCombination": InvalidRequestError,
    "MissingParameter": InvalidRequestError,
    "MissingAction": InvalidRequestError,
    "InvalidAction": InvalidRequestError,
    "InvalidAttributeName": InvalidRequestError,
    "InvalidAttributeValue": InvalidRequestError,
    "InvalidAddress": InvalidRequestError,
    "InvalidIdFormat": InvalidRequestError,
    "InvalidQueryParameter": InvalidRequestError,
    "MalformedQueryString": InvalidRequestError,
    "ValidationError": InvalidRequestError,
    "SerializationException": InvalidRequestError,
    "InvalidToken": InvalidRequestError,
    # batches
    "BatchEntryIdsNotDistinct": BatchRequestError,
    "BatchRequestTooLong": BatchRequestError,
    "EmptyBatchRequest": BatchRequestError,
    "InvalidBatchEntryId": BatchRequestError,
    "TooManyEntriesInBatchRequest": BatchRequestError,
    # throttling and limits
    "RequestThrottled": ThrottledError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "KmsThrottled": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "SlowDown": ThrottledError,
    "OverLimit": OverLimit,
    # auth
    "InvalidSecurity": AuthError,
    "AccessDenied": AuthError,
    "AccessDeniedException": AuthError,
    "InvalidClientTokenId": AuthError,
    "SignatureDoesNotMatch": AuthError,
    "IncompleteSignature": AuthError,
    "MissingAuthenticationToken": AuthError,
    "MissingAuthenticationTokenException": AuthError,
    "ExpiredToken": AuthError,
    "ExpiredTokenException": AuthError,
    "RequestExpired": AuthError,
    "UnrecognizedClientException": AuthError,
    "InvalidAccessKeyId": AuthError,
    "OptInRequired": AuthError,
    # KMS
    "KmsAccessDenied": KmsError,
    "KmsDisabled": KmsError,
    "KmsInvalidKeyUsage": KmsError,
    "KmsInvalidState": KmsError,
    "KmsNotFound": KmsError,
    "KmsOptInRequired": KmsError,
    # other
    "UnsupportedOperation": UnsupportedOperation,
    "ResourceNotFoundException": ResourceNotFound,
    "InternalError": ServiceUnavailable,
    "InternalFailure": ServiceUnavailable,
    "ServiceUnavailable": ServiceUnavailable,
    "InternalServerError": ServiceUnavailable,
}


def for_code(code: str, status: int | None = None) -> type[ServiceError]:
    """Return the exception class for a service error code.

    Accepts JSON ``__type`` values (``com.amazonaws.sqs#QueueDoesNotExist``), plain shape
    names and legacy query codes (``AWS.SimpleQueueService.NonExistentQueue``). Unknown
    codes fall back on the HTTP status: 5xx → :class:`ServiceUnavailable`, else
    :class:`UnknownServiceError`.
    """
    name = code.split(":", 1)[0].rpartition("#")[2].strip()
    if name.startswith(_PREFIX):
        name = name[len(_PREFIX) :]
    cls = _CODES.get(name)
    if cls is not None:
        return cls
    if name.startswith(
        "KMS."
    ):  # legacy query codes: KMS.ThrottlingException, KMS.NotFoundException...
        return ThrottledError if "Throttling" in name else KmsError
    if status is not None and status >= 500:
        return ServiceUnavailable
    return UnknownServiceError
