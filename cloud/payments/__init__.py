"""Payments: a provider interface with signed asynchronous callbacks; idempotent capture and refund."""
