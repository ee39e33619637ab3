"""Wire constants of code scanners: line framing and reconnect timings."""

from __future__ import annotations

from typing import Final

# A scanned code is one line; anything longer is not a code we issue.
MAX_LINE: Final = 512
LINE_END: Final = b"\n"
OPTIONAL_CR: Final = b"\r"
READ_CHUNK: Final = 4096
TEXT_ENCODING: Final = "utf-8"

CONNECT_TIMEOUT_S: Final = 5.0
RECONNECT_MIN_S: Final = 0.05
RECONNECT_MAX_S: Final = 5.0
