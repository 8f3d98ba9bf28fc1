"""``python -m sqs_async._worker OPTIONS_JSON FD``: a consuming process, started by the
supervisor (see ``child.py``)."""

import sys

from .child import main

sys.exit(main())
