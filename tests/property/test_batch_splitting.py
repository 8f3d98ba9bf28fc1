"""split_batches: ≤10 entries, ≤ the byte limit, order kept, each index exactly once."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqs_async import MessageTooLarge
from sqs_async._protocol.batches import split_batches


@st.composite
def sizes_and_limit(draw: st.DrawFn) -> tuple[list[int], int]:
    limit = draw(st.integers(min_value=1, max_value=2_000))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=limit), max_size=60))
    return sizes, limit


@settings(max_examples=150, deadline=None)
@given(sizes_and_limit(), st.integers(min_value=1, max_value=12))
def test_batches_respect_the_limits_and_cover_every_index_once_in_order(
    case: tuple[list[int], int], max_entries: int
) -> None:
    sizes, limit = case
    batches = split_batches(sizes, limit, max_entries)
    flat = [i for batch in batches for i in batch]
    assert flat == list(range(len(sizes)))  # each exactly once, in order
    for batch in batches:
        assert 1 <= len(batch) <= max_entries
        assert sum(sizes[i] for i in batch) <= limit
        assert batch.step == 1


@settings(max_examples=150, deadline=None)
@given(sizes_and_limit())
def test_default_batches_hold_at_most_ten(case: tuple[list[int], int]) -> None:
    sizes, limit = case
    for batch in split_batches(sizes, limit):
        assert len(batch) <= 10


@settings(max_examples=60, deadline=None)
@given(sizes_and_limit())
def test_batches_are_greedy(case: tuple[list[int], int]) -> None:
    """A batch is only closed when the next message would not fit (or it is full)."""
    sizes, limit = case
    batches = split_batches(sizes, limit)
    for batch, following in itertools.pairwise(batches):
        nxt = following[0]
        assert len(batch) == 10 or sum(sizes[i] for i in batch) + sizes[nxt] > limit


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=100), max_size=20),
    st.integers(min_value=1, max_value=100),
    st.lists(st.integers(min_value=1, max_value=100), max_size=20),
)
def test_a_single_oversize_message_raises(before: list[int], excess: int, after: list[int]) -> None:
    limit = 100
    sizes = [*before, limit + excess, *after]
    with pytest.raises(MessageTooLarge, match=f"message {len(before)} is {limit + excess} bytes"):
        split_batches(sizes, limit)


def test_empty_input_gives_no_batches() -> None:
    assert split_batches([], 100) == []


def test_exact_fit() -> None:
    assert split_batches([50, 50, 50], 100) == [range(0, 2), range(2, 3)]
    assert split_batches([1] * 25, 1_048_576) == [range(0, 10), range(10, 20), range(20, 25)]
    assert split_batches([100], 100) == [range(0, 1)]
