"""``sqs-async tail`` stops at once on Ctrl-C, whatever long poll is parked (issue 9)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from faults import QueueMaker

from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY

pytest_plugins = ["faults"]
pytestmark = pytest.mark.integration

EXIT_DEADLINE = 5.0  # "within a second" with room for a loaded machine; the polls wait 20 s


async def test_tail_exits_promptly_on_ctrl_c_while_its_long_polls_are_parked(
    sqs_endpoint: str, make_queue: QueueMaker
) -> None:
    queue = await make_queue(visibility_timeout=60)
    await queue.write("first")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        "AWS_REGION": TEST_REGION,
        "AWS_ENDPOINT_URL_SQS": sqs_endpoint,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sqs_async",
        "tail",
        queue.name,
        "--wait",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert b"first" in line  # it is tailing: its next long polls are parked now
        process.send_signal(signal.SIGINT)
        returncode = await asyncio.wait_for(process.wait(), EXIT_DEADLINE)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert returncode == 130  # interrupted, as a shell expects after Ctrl-C
