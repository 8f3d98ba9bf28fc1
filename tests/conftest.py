"""Shared test setup: every test runs with an empty AWS environment.

The ``sqs_server`` / ``sqs_endpoint`` / ``sqs_connection`` / ``sqs_queue_name`` fixtures come from
the ``sqs_async.local`` pytest plugin, registered by the package's ``pytest11`` entry point.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_PROXY_VARIABLES = {"http_proxy", "https_proxy", "no_proxy", "all_proxy"}


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the developer's AWS settings: no ``AWS_*`` variables, no config or credential
    files, no instance-metadata lookups (botocore would otherwise wait on IMDS), and no
    proxy variables (both transports honour them)."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in _PROXY_VARIABLES:
            monkeypatch.delenv(name)
    missing = tmp_path / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
