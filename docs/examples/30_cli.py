"""The sqs-async command line: the session shown in docs/cli.md, checked step by step."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def sqs_async_cli(*args: str, env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    """Run ``sqs-async ARGS...`` (as ``python -m sqs_async``); return (exit code, out, err)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sqs_async",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    print(f"$ sqs-async {' '.join(args)}\n{out.decode()}{err.decode()}", end="")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def main(endpoint_url: str) -> None:
    # Credentials, region and endpoint from the environment, as for the AWS CLI
    # (or: --endpoint-url URL --region REGION --profile NAME before the command).
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        "AWS_REGION": TEST_REGION,
        "AWS_ENDPOINT_URL_SQS": endpoint_url,
    }

    async def run(*args: str, stdin: str = "", expect: int = 0) -> str:
        code, out, err = await sqs_async_cli(*args, env=env, stdin=stdin)
        assert code == expect, f"exit code {code}: {err}"
        return out

    jobs = f"jobs-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        dump_file = str(Path(tmp) / "jobs.txt")
        url = (await run("create", jobs, "--visibility-timeout", "60")).strip()
        assert url.endswith("/" + jobs)
        try:
            await run("send", jobs, "hello")
            await run("send", jobs, "--lines", stdin="one\ntwo\nthree\n")
            assert (await run("count", jobs)).strip() == "4"
            assert (await run("--output", "json", "count", jobs)).strip() == (
                f'{{"name": "{jobs}", "count": 4}}'
            )
            dumped = await run("dump", jobs, dump_file)
            assert dumped.strip() == f"wrote 4 messages to {dump_file}"
            received = await run("receive", jobs, "-n", "2", "--wait", "1", "--delete")
            assert len(received.splitlines()) == 2
            assert (await run("clear", jobs)).strip() == "deleted 2 messages"
            assert (await run("load", jobs, dump_file)).strip() == "sent 4 messages"
            tailed = await run("tail", jobs, "--delete", "--max-messages", "4", "--wait", "1")
            assert sorted(tailed.splitlines()) == ["hello", "one", "three", "two"]
            await run("send", jobs, "one more")
            code, _, err = await sqs_async_cli("delete", jobs, env=env)
            assert code == 1
            assert "use --force" in err
        finally:
            assert (await run("delete", jobs, "--force")).strip() == f"deleted {jobs}"
    code, _, err = await sqs_async_cli("count", jobs, env=env)
    assert code == 1
    assert err.strip() == f"sqs-async: error: queue '{jobs}' does not exist"


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())
