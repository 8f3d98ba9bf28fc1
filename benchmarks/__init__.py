"""sqs_async benchmarks: a fast local SQS-compatible server and a side-by-side harness.

Run ``python -m benchmarks`` (see README.md). This package imports nothing on purpose, so that
``python -m benchmarks.startup`` can time client imports from a clean interpreter.
"""
