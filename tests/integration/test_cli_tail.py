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
pytestmark = [
    pytest.mark.integration,
    # A process started with SIGINT ignored (a background job of a non-interactive shell)
    # passes that on to its children, and sqs-async, like any Unix tool, keeps ignoring it:
    # there is no Ctrl-C to test then, only a timeout to wait for.
    pytest.mark.skipif(
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
        reason="SIGINT is ignored in this process, and so in the sqs-async it starts",
    ),
]

# "Within a second" with room for a loaded 2-core machine (at most 1.3 s measured with four
# CPU hogs running), and half the 20 s the polls wait: a poll waited out cannot pass.
EXIT_DEADLINE = 10.0


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


# The command line's runner with a SIGINT handled off the loop's thread while the loop is
# idle. That is the state of a SIGINT landing just before the loop blocks in select() (the
# race behind this test's former intermittent failure), made certain: the signalling thread
# gets the GIL only when the loop releases it to block. asyncio.run's own handler ran only at
# the loop's next wake-up (here after 60 s; in tail, when the parked 20 s polls answered).
_SIGINT_WHILE_IDLE = """
import asyncio, signal, sys, threading
from sqs_async._cli import _Interrupted, _interruptible, _owns_sigint

idle = threading.Event()

def interrupt():
    idle.wait()
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # taken on this thread

threading.Thread(target=interrupt, daemon=True).start()

async def parked():
    idle.set()
    await asyncio.sleep(60)  # nothing else wakes the loop, as with tail's polls parked
    return 0

try:
    sys.exit(asyncio.run(_interruptible(parked, _owns_sigint())))
except _Interrupted:
    sys.exit(130)
"""


async def test_ctrl_c_wakes_the_idle_loop_whichever_thread_takes_the_signal() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SIGINT_WHILE_IDLE, stderr=asyncio.subprocess.PIPE
    )
    try:
        returncode = await asyncio.wait_for(process.wait(), EXIT_DEADLINE)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    assert returncode == 130, (await process.stderr.read()).decode()
