"""Where routes find the payment provider: set on the app at start (none: payments answer 503)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from cloud.clock import Clock
from cloud.errors import Unavailable
from cloud.payments.provider import PaymentProvider
from cloud.payments.provider_sim import SimProvider
from cloud.settings import CloudSettings

CALLBACK_PATH = "/api/v1/payments/callbacks/sim"


@dataclass(slots=True)
class PaymentsContext:
    """The provider the app takes payments with (None when not configured)."""

    provider: PaymentProvider | None = None


def install_payments(app: FastAPI, settings: CloudSettings, clock: Clock) -> None:
    """Give the app its payment provider from the settings."""
    secret = settings.resolve_payment_secret()
    provider = None
    if settings.payment_provider_url and secret is not None:
        provider = SimProvider(settings.payment_provider_url, secret, clock)
    app.state.payments = PaymentsContext(provider)


def optional_provider(request: Request) -> PaymentProvider | None:
    """The app's provider, if any."""
    context: PaymentsContext | None = getattr(request.app.state, "payments", None)
    return context.provider if context is not None else None


def optional_provider_of(app: FastAPI) -> Callable[[], PaymentProvider | None]:
    """A getter of the app's provider as it is when called (for background loops)."""

    def provider() -> PaymentProvider | None:
        context: PaymentsContext | None = getattr(app.state, "payments", None)
        return context.provider if context is not None else None

    return provider


def get_provider(request: Request) -> PaymentProvider:
    """The app's provider (503 payments_not_configured otherwise)."""
    provider = optional_provider(request)
    if provider is None:
        raise Unavailable("no payment provider is configured", code="payments_not_configured")
    return provider


ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]
OptionalProviderDep = Annotated[PaymentProvider | None, Depends(optional_provider)]


def notify_url(request: Request) -> str:
    """The callback URL the provider should call (this app, as the customer's request reached it)."""
    return str(request.base_url).rstrip("/") + CALLBACK_PATH
