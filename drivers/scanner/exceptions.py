"""Errors of scanner drivers; a bad scan is reported and dropped, never delivered."""

from __future__ import annotations


class ScannerError(Exception):
    """Base error of every scanner driver."""

    code = "scanner_error"


class ScanDecodeError(ScannerError):
    """A scan that is not UTF-8 text, is empty, or is too long."""

    code = "bad_scan"
