"""sqs_async: an asyncio-native Amazon SQS client with the classic boto interface.

Example::

    import sqs_async

    async with sqs_async.connect_sqs(region="eu-west-1") as conn:
        queue = await conn.create_queue("jobs")
        await queue.write(queue.new_message("hello"))
        async for message in queue:
            print(message.get_body())
            await message.delete()
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and IDEs; at run time see __getattr__ below
    from ._batch_calls import BatchResults, FailedEntry, SuccessfulEntry
    from ._batching import BatchWriter
    from ._client import ClientState
    from ._config import ClientConfig, Limits, RetryPolicy, Timeouts
    from ._connection import SQSConnection, connect_sqs
    from ._consumer import Consumer, ConsumerHooks, ConsumerStatistics
    from ._message import (
        Base64Message,
        EncodedMessage,
        JSONMessage,
        Message,
        MHMessage,
        RawMessage,
    )
    from ._outcomes import (
        HandlerCall,
        Middleware,
        Reject,
        Retry,
        add_middleware,
        remove_middleware,
    )
    from ._queue import Queue
    from ._stream import MessageStream

from .errors import (
    AuthError,
    BatchRequestError,
    ChecksumMismatch,
    ClientClosedError,
    ConnectError,
    ConnectTimeout,
    DrainIncomplete,
    InvalidMessageContents,
    InvalidRequestError,
    KmsError,
    MessageDecodeError,
    MessageNotInflight,
    MessageTooLarge,
    NoRegionError,
    OverLimit,
    PartialBatchFailure,
    PoolTimeout,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
    QueueNotEmpty,
    ReadTimeout,
    ReceiptHandleInvalid,
    ReceiptHandleIsInvalid,
    ResourceNotFound,
    ResponseError,
    ServiceError,
    ServiceMessageTooLarge,
    ServiceUnavailable,
    SQSError,
    ThrottledError,
    ThrottlingError,
    TransportError,
    UnknownServiceError,
    UnsupportedOperation,
    ValidationError,
)

__version__ = "0.1.0"

# Where each public name that is not an error lives. ``import sqs_async`` loads none of them
# (it costs little more than the standard library, which matters to command-line tools and
# short-lived processes); the first use of a name, or ``from sqs_async import X``, imports its
# module (PEP 562). Add a new export both here and in the TYPE_CHECKING block above.
_LAZY: dict[str, str] = {
    "Base64Message": "._message",
    "BatchResults": "._batch_calls",
    "BatchWriter": "._batching",
    "ClientConfig": "._config",
    "ClientState": "._client",
    "Consumer": "._consumer",
    "ConsumerHooks": "._hooks",
    "ConsumerStatistics": "._hooks",
    "EncodedMessage": "._message",
    "FailedEntry": "._batch_calls",
    "HandlerCall": "._outcomes",
    "JSONMessage": "._message",
    "Limits": "._config",
    "MHMessage": "._message",
    "Message": "._message",
    "MessageStream": "._stream",
    "Middleware": "._outcomes",
    "Queue": "._queue",
    "RawMessage": "._message",
    "Reject": "._outcomes",
    "Retry": "._outcomes",
    "RetryPolicy": "._config",
    "SQSConnection": "._connection",
    "SuccessfulEntry": "._batch_calls",
    "Timeouts": "._config",
    "add_middleware": "._outcomes",
    "connect_sqs": "._connection",
    "remove_middleware": "._outcomes",
}


if not TYPE_CHECKING:  # hidden from type checkers: a typo stays an error for them

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'sqs_async' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module, __name__), name)
        globals()[name] = value  # later lookups do not come back here
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AuthError",
    "Base64Message",
    "BatchRequestError",
    "BatchResults",
    "BatchWriter",
    "ChecksumMismatch",
    "ClientClosedError",
    "ClientConfig",
    "ClientState",
    "ConnectError",
    "ConnectTimeout",
    "Consumer",
    "ConsumerHooks",
    "ConsumerStatistics",
    "DrainIncomplete",
    "EncodedMessage",
    "FailedEntry",
    "HandlerCall",
    "InvalidMessageContents",
    "InvalidRequestError",
    "JSONMessage",
    "KmsError",
    "Limits",
    "MHMessage",
    "Message",
    "MessageDecodeError",
    "MessageNotInflight",
    "MessageStream",
    "MessageTooLarge",
    "Middleware",
    "NoRegionError",
    "OverLimit",
    "PartialBatchFailure",
    "PoolTimeout",
    "PurgeQueueInProgress",
    "Queue",
    "QueueAlreadyExists",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "QueueNotEmpty",
    "RawMessage",
    "ReadTimeout",
    "ReceiptHandleInvalid",
    "ReceiptHandleIsInvalid",
    "Reject",
    "ResourceNotFound",
    "ResponseError",
    "Retry",
    "RetryPolicy",
    "SQSConnection",
    "SQSError",
    "ServiceError",
    "ServiceMessageTooLarge",
    "ServiceUnavailable",
    "SuccessfulEntry",
    "ThrottledError",
    "ThrottlingError",
    "Timeouts",
    "TransportError",
    "UnknownServiceError",
    "UnsupportedOperation",
    "ValidationError",
    "__version__",
    "add_middleware",
    "connect_sqs",
    "remove_middleware",
]
