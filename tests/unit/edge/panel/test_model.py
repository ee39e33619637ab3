"""Panel rules: roles, sign-in lockout, the cleaning queue's order and extension targets."""

from __future__ import annotations

from edge.panel.model import (
    FAILURE_WINDOW_S,
    LOCKOUT_S,
    MAX_FAILURES,
    Attempts,
    Extension,
    PanelAction,
    Waiting,
    after_failure,
    allowed,
    clean_reason,
    cleaning_queue,
    extension_target,
    home_of,
    lockout_of,
    may_sign_in,
)

NOW = 1_800_000_000.0


def test_desk_roles_may_do_everything_a_cleaner_only_cleans_and_a_maintainer_only_looks() -> None:
    for role in ("staff", "store_manager", "region_manager", "hq_admin"):
        assert all(allowed(role, action) for action in PanelAction)
    assert {a for a in PanelAction if allowed("cleaner", a)} == {PanelAction.VIEW_CLEANING, PanelAction.CLEAN}
    assert not allowed("maintainer", PanelAction.DOOR) and allowed("maintainer", PanelAction.VIEW)
    assert not may_sign_in("finance") and not may_sign_in("account_manager") and not may_sign_in("")
    assert (home_of("cleaner"), home_of("staff")) == ("/cleaning", "/")


def test_the_fifth_failure_within_the_window_locks_the_username_for_fifteen_minutes() -> None:
    attempts = Attempts()
    for i in range(MAX_FAILURES - 1):
        attempts = after_failure(attempts, NOW + i)
        assert not lockout_of(attempts, NOW + i).locked
    attempts = after_failure(attempts, NOW + 10)
    assert lockout_of(attempts, NOW + 10).locked
    assert lockout_of(attempts, NOW + 10).retry_after_s == LOCKOUT_S
    assert lockout_of(attempts, NOW + 10 + LOCKOUT_S - 1).locked
    assert not lockout_of(attempts, NOW + 10 + LOCKOUT_S).locked


def test_failures_spread_beyond_the_window_never_lock() -> None:
    attempts = Attempts()
    for i in range(3 * MAX_FAILURES):
        attempts = after_failure(attempts, NOW + i * (FAILURE_WINDOW_S / (MAX_FAILURES - 1) + 1))
        assert attempts.locked_until is None


def test_the_cleaning_queue_puts_the_longest_waiting_first_and_marks_the_overdue() -> None:
    queue = cleaning_queue(
        [
            Waiting("r2", "Room 2", NOW - 600, 1800),
            Waiting("r1", "Room 1", NOW - 2000, 1800),
            Waiting("r3", "Room 3", NOW - 60, 1800, overdue_fault=True),
        ],
        NOW,
    )
    assert [(c.room_id, c.overdue) for c in queue] == [("r1", True), ("r2", False), ("r3", True)]
    assert queue[1].due_at == NOW - 600 + 1800


def test_an_extension_runs_from_the_sessions_end_or_to_a_time_within_a_day() -> None:
    assert extension_target(Extension(minutes=30), NOW + 600, NOW) == NOW + 600 + 1800
    assert extension_target(Extension(until=NOW + 7200), NOW + 600, NOW) == NOW + 7200
    assert extension_target(Extension(minutes=30), None, NOW) == "no_session"
    assert extension_target(Extension(), NOW, NOW) == "bad_args"
    assert extension_target(Extension(until=NOW + 2 * 86400), NOW, NOW) == "too_long"


def test_a_reason_is_trimmed_cleaned_and_bounded() -> None:
    assert clean_reason("  guest\nleft a bag ") == "guest left a bag"
    assert clean_reason("   ") is None and clean_reason(None) is None
    assert len(clean_reason("x" * 2000) or "") == 500
