"""Onboarding tools: store manifests (parse, validate, diff, apply), device import, QR sheets, edge tokens.

Everything here reaches the cloud only through its HTTP API (`provisioning.api.CloudApi`).
"""
