"""_protocol: the SQS wire format, pure (no I/O, no event loop).

AWS JSON 1.0 requests and responses, error parsing, MD5 checksums, input validation and
batch splitting. Depends only on ``_config`` and ``errors``.
"""
