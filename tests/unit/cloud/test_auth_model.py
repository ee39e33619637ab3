"""The pure authorization rules: role actions, reach by tenant/region/store/booking, lockout, user rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.auth.model import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    Action,
    LoginState,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    after_failure,
    after_success,
    can,
    can_manage_user,
    can_see_user,
    is_locked,
    password_problem,
    permits,
    user_scope_error,
)

T = "t-1"
STORE_A = Scope(T, region_id="r-1", store_id="s-a")
STORE_B = Scope(T, region_id="r-1", store_id="s-b")
STORE_C = Scope(T, region_id="r-2", store_id="s-c")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def user(role: Role, regions: set[str] | None = None, stores: set[str] | None = None) -> Principal:
    """A user principal (store_ids already expanded with its regions' stores)."""
    return Principal(
        tenant_id=T,
        actor=f"user:{role.value}",
        kind=PrincipalKind.USER,
        role=role,
        region_ids=frozenset(regions or ()),
        store_ids=frozenset(stores or ()),
    )


def test_a_system_principal_of_the_skeleton_acts_as_hq_admin_of_its_tenant_only() -> None:
    system = Principal(tenant_id=T, actor="seed")
    assert system.tenant_wide
    assert all(can(system, action, STORE_C) for action in Action)
    assert not can(system, Action.TENANCY_READ, Scope("t-other", store_id="s-x"))


def test_a_store_manager_reaches_their_store_and_nothing_of_another() -> None:
    manager = user(Role.STORE_MANAGER, stores={"s-a"})
    assert can(manager, Action.ROOMS_WRITE, STORE_A) and can(manager, Action.BOOKINGS_READ, STORE_A)
    for action in Action:
        assert not can(manager, action, STORE_B)
    assert not can(manager, Action.REGIONS_WRITE, Scope(T))
    assert not can(manager, Action.STORES_WRITE, STORE_A)


def test_a_region_manager_reaches_only_their_region() -> None:
    manager = user(Role.REGION_MANAGER, regions={"r-1"}, stores={"s-a", "s-b"})
    assert can(manager, Action.STORES_WRITE, STORE_B)
    assert can(manager, Action.STORES_WRITE, Scope(T, region_id="r-1"))
    assert not can(manager, Action.TENANCY_READ, STORE_C)
    assert not can(manager, Action.AUDIT_READ, Scope(T))


def test_a_maintainer_works_on_faults_of_their_region_only() -> None:
    maintainer = user(Role.MAINTAINER, regions={"r-1"}, stores={"s-a", "s-b"})
    assert can(maintainer, Action.FAULTS_WRITE, STORE_A)
    assert not can(maintainer, Action.FAULTS_READ, STORE_C)
    assert not can(maintainer, Action.BOOKINGS_READ, STORE_A)
    assert not can(maintainer, Action.DEVICES_WRITE, STORE_A)


def test_a_customer_sees_only_their_own_booking() -> None:
    customer = Principal(
        T, "customer:B1", kind=PrincipalKind.CUSTOMER, role=None, booking_refs=frozenset({"B1"})
    )
    assert can(customer, Action.BOOKINGS_READ, Scope(T, store_id="s-a", booking_ref="B1"))
    assert can(customer, Action.BOOKINGS_CANCEL, Scope(T, store_id="s-a", booking_ref="B1"))
    assert not can(customer, Action.BOOKINGS_READ, Scope(T, store_id="s-a", booking_ref="B2"))
    assert not can(customer, Action.BOOKINGS_WRITE, Scope(T, store_id="s-a", booking_ref="B1"))
    assert not can(customer, Action.TENANCY_READ, STORE_A)
    assert not customer.tenant_wide


def test_finance_reads_the_audit_log_but_changes_nothing() -> None:
    finance = user(Role.FINANCE)
    assert permits(finance, Action.AUDIT_READ) and can(finance, Action.BOOKINGS_READ, STORE_C)
    assert not permits(finance, Action.BOOKINGS_WRITE) and not permits(finance, Action.ROOMS_WRITE)
    narrowed = user(Role.FINANCE, stores={"s-a"})
    assert not permits(narrowed, Action.AUDIT_READ)  # the audit log is tenant-wide


@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.STAFF, Role.CLEANER, Role.MAINTAINER])
def test_scoped_roles_with_no_scope_reach_nothing(role: Role) -> None:
    nobody = user(role)
    assert not any(can(nobody, action, STORE_A) for action in Action)


def test_five_failed_logins_in_a_row_lock_for_fifteen_minutes() -> None:
    state = LoginState()
    for _ in range(MAX_FAILED_LOGINS - 1):
        state = after_failure(state, NOW)
        assert not is_locked(state, NOW)
    state = after_failure(state, NOW)
    assert is_locked(state, NOW) and is_locked(state, NOW + LOCKOUT - timedelta(seconds=1))
    assert not is_locked(state, NOW + LOCKOUT)
    state = after_failure(state, NOW + LOCKOUT)  # a new count starts after the lockout
    assert state.failed_attempts == 1 and not is_locked(state, NOW + LOCKOUT)
    assert after_success() == LoginState()


def test_users_roles_must_fit_their_scope() -> None:
    assert user_scope_error(Role.STORE_MANAGER, frozenset(), frozenset({"s-a"})) is None
    assert user_scope_error(Role.STORE_MANAGER, frozenset({"r-1"}), frozenset()) is not None
    assert user_scope_error(Role.MAINTAINER, frozenset(), frozenset()) is not None
    assert user_scope_error(Role.HQ_ADMIN, frozenset({"r-1"}), frozenset()) is not None
    assert user_scope_error(Role.FINANCE, frozenset(), frozenset()) is None


def test_a_region_manager_manages_only_store_staff_of_their_region() -> None:
    manager = user(Role.REGION_MANAGER, regions={"r-1"}, stores={"s-a", "s-b"})
    assert can_manage_user(manager, Role.STAFF, frozenset(), frozenset({"s-b"}))
    assert not can_manage_user(manager, Role.STAFF, frozenset(), frozenset({"s-c"}))
    assert not can_manage_user(manager, Role.HQ_ADMIN, frozenset(), frozenset())
    assert not can_manage_user(manager, Role.REGION_MANAGER, frozenset({"r-1"}), frozenset())
    assert can_see_user(manager, Role.CLEANER, frozenset(), frozenset({"s-a"}))
    assert not can_see_user(manager, Role.FINANCE, frozenset(), frozenset())
    assert can_manage_user(user(Role.HQ_ADMIN), Role.REGION_MANAGER, frozenset({"r-2"}), frozenset())
    assert not can_manage_user(
        user(Role.STORE_MANAGER, stores={"s-a"}), Role.STAFF, frozenset(), frozenset({"s-a"})
    )


def test_short_passwords_are_refused() -> None:
    assert password_problem("short") is not None
    assert password_problem("long enough password") is None
