"""pytest runs the fenced ```python blocks of these pages (Sybil; see tests/docs_blocks.py)."""

from docs_blocks import (  # noqa: F401  (hooks and fixtures pytest finds by name)
    isolated_aws_environment,
    pytest_collect_file,
    pytest_collection_modifyitems,
)
