"""The link's reconnect policy: exponential, capped, fully jittered, reset after a lasting connection."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from edge.link.backoff import BackoffPolicy

POLICY = BackoffPolicy(base_s=0.5, cap_s=30.0, reset_after_s=10.0)


def test_the_ceiling_doubles_from_half_a_second_up_to_thirty() -> None:
    assert [POLICY.ceiling(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert POLICY.ceiling(10_000) == 30.0


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    assert POLICY.delay(3, 0.0) == 0.0
    assert POLICY.delay(3, 0.5) == 2.0
    assert POLICY.delay(3, 0.999999) < 4.0


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_every_delay_lies_within_zero_and_the_cap(attempt: int, rand: float) -> None:
    assert 0.0 <= POLICY.delay(attempt, rand) <= POLICY.cap_s


def test_failed_connections_count_up() -> None:
    assert POLICY.next_attempt(0, None) == 1
    assert POLICY.next_attempt(4, None) == 5


def test_a_short_lived_connection_does_not_reset_the_backoff() -> None:
    assert POLICY.next_attempt(4, 9.9) == 5


def test_a_connection_that_lasted_over_ten_seconds_resets_the_backoff() -> None:
    assert POLICY.next_attempt(6, 10.5) == 0


def test_two_edges_with_different_random_draws_wait_differently() -> None:
    one, two = random.Random(1), random.Random(2)
    assert POLICY.delay(5, one.random()) != POLICY.delay(5, two.random())
