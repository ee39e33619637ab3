"""Scanner framing: lines split on LF or CRLF, over-long lines dropped whole, scans decoded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scanner import LineSplitter, ScanDecodeError
from drivers.scanner.codec import decode_scan


def test_lines_end_with_lf_or_crlf() -> None:
    fed = LineSplitter(16).feed(b"one\r\ntwo\nthree")
    assert fed.lines == [b"one", b"two"]
    assert fed.dropped == 0


def test_a_line_split_across_chunks_is_joined() -> None:
    splitter = LineSplitter(16)
    assert splitter.feed(b"GH1.ab").lines == []
    assert splitter.feed(b"cd\r").lines == []
    assert splitter.feed(b"\n").lines == [b"GH1.abcd"]


def test_an_over_long_line_is_dropped_up_to_its_newline_and_the_next_line_survives() -> None:
    splitter = LineSplitter(8)
    first = splitter.feed(b"x" * 20)
    second = splitter.feed(b"y" * 20 + b"\nok\n")
    assert first.dropped + second.dropped == 1
    assert first.lines + second.lines == [b"ok"]


def test_a_line_of_exactly_max_bytes_is_kept_even_with_crlf() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"abcd\r").lines == []
    assert splitter.feed(b"\nabcde\n").lines == [b"abcd"]


def _reference(stream: bytes, max_line: int) -> tuple[list[bytes], int]:
    """What a whole-stream split gives: complete lines only, CR stripped, long ones counted."""
    parts = stream.split(b"\n")[:-1]
    lines = [p[:-1] if p.endswith(b"\r") else p for p in parts]
    kept = [line for line in lines if len(line) <= max_line]
    return kept, len(lines) - len(kept)


@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=8),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=20),
)
def test_any_chunking_of_a_stream_gives_the_same_lines(
    lines: list[bytes], cuts: list[int], max_line: int
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    splitter = LineSplitter(max_line)
    got: list[bytes] = []
    dropped = 0
    position = 0
    index = 0
    while position < len(stream):
        size = cuts[index % len(cuts)]
        fed = splitter.feed(stream[position : position + size])
        got.extend(fed.lines)
        dropped += fed.dropped
        position += size
        index += 1
    assert (got, dropped) == _reference(stream, max_line)


def test_a_scan_is_stripped_utf8_text() -> None:
    assert decode_scan(b"  GH1.x \r") == "GH1.x"


@pytest.mark.parametrize("raw", [b"", b"   ", b"\xff\xfe", b"x" * 513])
def test_empty_undecodable_or_long_scans_are_refused(raw: bytes) -> None:
    with pytest.raises(ScanDecodeError):
        decode_scan(raw)
