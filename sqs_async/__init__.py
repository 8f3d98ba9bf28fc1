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

from ._batching import BatchWriter
from ._client import ClientState
from ._config import ClientConfig, Limits, RetryPolicy, Timeouts
from ._connection import SQSConnection, connect_sqs
from ._consumer import Consumer, ConsumerHooks, ConsumerStatistics, MessageStream
from ._message import (
    Base64Message,
    EncodedMessage,
    JSONMessage,
    Message,
    MHMessage,
    RawMessage,
)
from ._outcomes import HandlerCall, Middleware, Reject, Retry, add_middleware, remove_middleware
from ._queue import BatchResults, FailedEntry, Queue, SuccessfulEntry
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
