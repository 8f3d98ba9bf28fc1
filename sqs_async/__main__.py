"""``python -m sqs_async``: the ``sqs-async`` command line (see ``sqs_async._cli``)."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
