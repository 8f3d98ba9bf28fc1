"""Dumping a queue to a file: dump() copies, save_to_file() moves, load_from_file() restores."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

from sqs_async import SQSConnection
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, local_sqs


async def main(endpoint_url: str) -> None:
    async with SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
    ) as conn:
        queue = await conn.create_queue(f"tutorial-dump-{uuid.uuid4().hex[:8]}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                await queue.write_batch([f"message {n}" for n in range(5)])

                # dump(): every body into a file, one per line; nothing is deleted. Each
                # message is written once, and all are visible again when it returns.
                dump_file = Path(tmp) / "dump.txt"
                written = await queue.dump(str(dump_file))
                lines = dump_file.read_text(encoding="utf-8").split("\n")
                print(f"dump() wrote {written} messages: {lines}")
                assert written == 5
                assert sorted(lines) == [f"message {n}" for n in range(5)]
                assert await queue.count() == 5

                # save_to_file(): the same into an open text file, but each message is
                # deleted once written: it moves the queue into the file.
                save_file = Path(tmp) / "saved.txt"
                with save_file.open("w", encoding="utf-8", newline="") as fp:
                    saved = await queue.save_to_file(fp)
                print(f"save_to_file() moved {saved} messages; {await queue.count()} left")
                assert saved == 5
                assert await queue.count() == 0

                # load_from_file(): send each body back (batched, in the queue's class).
                with save_file.open(encoding="utf-8", newline="") as fp:
                    loaded = await queue.load_from_file(fp)
                print(f"load_from_file() sent {loaded} messages")
                assert loaded == 5
                assert await queue.count() == 5
            finally:
                await queue.delete(force=True)


async def _standalone() -> None:
    async with local_sqs() as endpoint_url:
        await main(endpoint_url)


if __name__ == "__main__":
    asyncio.run(_standalone())
