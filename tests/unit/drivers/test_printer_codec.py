"""ESC/POS codec: jobs render to the documented bytes; DLE EOT replies decode per the spec or are refused."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer import PROFILES, Align, Cut, Feed, Line, PrinterStatus, PrintJob, QrCode, render
from drivers.printer.codec import decode_status, status_fault, status_query, status_warnings
from drivers.printer.const import StatusQuery
from drivers.printer.exceptions import (
    PrinterCoverOpen,
    PrinterFault,
    PrinterOffline,
    PrinterPaperOut,
    PrinterStatusError,
)

RECEIPT = PROFILES["receipt-80mm"]
READY = bytes([0x12, 0x12, 0x12, 0x12])


def test_a_status_query_is_dle_eot_n() -> None:
    assert status_query(StatusQuery.PAPER) == b"\x10\x04\x04"


def test_a_ready_printer_decodes_as_online_with_nothing_wrong() -> None:
    status = decode_status(READY, at=1.0)
    assert status == PrinterStatus(
        online=True, cover_open=False, paper_out=False, paper_near_end=False, error=False
    )
    assert status.at == 1.0
    assert status_fault(status) is None and status_warnings(status) == ()


def test_the_spec_example_of_a_printer_out_of_paper() -> None:
    # DLE EOT 1 offline, 2 stopped by paper end, 3 no error, 4 near end + end.
    status = decode_status(bytes([0x1A, 0x32, 0x12, 0x7E]), at=0)
    assert (status.online, status.paper_out, status.paper_near_end) == (False, True, True)
    assert isinstance(status_fault(status), PrinterPaperOut)


@pytest.mark.parametrize(
    ("replies", "error", "code"),
    [
        (bytes([0x1A, 0x16, 0x12, 0x12]), PrinterCoverOpen, "cover_open"),
        (bytes([0x1A, 0x36, 0x12, 0x72]), PrinterCoverOpen, "cover_open"),  # cover first
        (bytes([0x1A, 0x52, 0x1A, 0x12]), PrinterFault, "error"),  # autocutter error
        (bytes([0x12, 0x12, 0x32, 0x12]), PrinterFault, "error"),  # unrecoverable error
        (bytes([0x12, 0x12, 0x16, 0x12]), PrinterFault, "error"),  # mechanical error
        (bytes([0x1A, 0x12, 0x12, 0x12]), PrinterOffline, "offline"),  # offline, no cause given
    ],
)
def test_fault_states_become_errors_with_codes(replies: bytes, error: type[Exception], code: str) -> None:
    fault = status_fault(decode_status(replies, at=0))
    assert isinstance(fault, error) and fault.code == code


def test_paper_near_end_is_a_warning_not_a_fault() -> None:
    status = decode_status(bytes([0x12, 0x12, 0x12, 0x1E]), at=0)
    assert status_fault(status) is None
    assert status_warnings(status) == ("paper_near_end",)


@pytest.mark.parametrize(
    "replies",
    [
        b"",
        b"\x12",
        b"\x12\x12\x12",
        b"\x12" * 5,
        b"\xff\x12\x12\x12",
        b"\x12\x13\x12\x12",
        b"\x00\x00\x00\x00",
    ],
)
def test_truncated_or_garbage_replies_are_bad_status(replies: bytes) -> None:
    with pytest.raises(PrinterStatusError) as info:
        decode_status(replies, at=0)
    assert info.value.code == "bad_status"


@given(st.binary(max_size=8))
def test_arbitrary_reply_bytes_decode_or_are_bad_status_and_nothing_else(replies: bytes) -> None:
    with contextlib.suppress(PrinterStatusError):
        status = decode_status(replies, at=0)
        assert len(replies) == 4 and all(b & 0x93 == 0x12 for b in replies)
        fault = status_fault(status)
        assert fault is None or fault.code in {"cover_open", "paper_out", "error", "offline"}


def test_a_job_renders_init_styles_text_qr_feed_and_cut() -> None:
    job = PrintJob((Line("Hi", bold=True, align=Align.CENTER), QrCode("AB", size=4), Feed(2), Cut()))
    data = render(job, RECEIPT)
    assert data.startswith(b"\x1b@\x1ba\x01\x1bE\x01\x1d!\x00Hi\n")
    assert b"\x1d(k\x04\x001A2\x00" in data  # model 2
    assert b"\x1d(k\x03\x001C\x04" in data  # module size
    assert b"\x1d(k\x05\x001P0AB" in data  # store "AB"
    assert b"\x1d(k\x03\x001Q0" in data  # print
    assert data.endswith(b"\x1bd\x02\x1dVB\x03")


def test_text_is_cut_to_the_profile_width_without_splitting_a_character() -> None:
    narrow = PROFILES["kitchen-58mm"]
    data = render(PrintJob((Line("茶" * 40),)), narrow)
    assert "茶".encode("gb18030") * 16 + b"\n" in data
    assert "茶".encode("gb18030") * 17 not in data
    assert b"x" * 16 + b"\n" in render(PrintJob((Line("x" * 40, double=True),)), narrow)


def test_a_profile_without_a_cutter_feeds_instead_and_without_qr_prints_the_data() -> None:
    data = render(PrintJob((QrCode("GH1.x"), Cut(partial=False))), PROFILES["kitchen-58mm"])
    assert b"\x1d(k" not in data and b"\x1dV" not in data
    assert b"GH1.x\n" in data and data.endswith(b"\x1bd\x03")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Line("a\nb"),
        lambda: Line("\x1b@"),
        lambda: Line("\x9b"),
        lambda: QrCode(""),
        lambda: QrCode("x", size=17),
        lambda: Feed(0),
        lambda: PrintJob(()),
    ],
)
def test_jobs_that_would_inject_commands_or_make_no_sense_are_refused(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=60))
def test_any_printable_text_renders_within_the_profile_width(text: str) -> None:
    data = render(PrintJob((Line(text),)), RECEIPT)
    body = data.split(b"\x1d!\x00", 1)[1].split(b"\n", 1)[0]
    assert len(body) <= RECEIPT.columns
    assert text.startswith(body.decode("gb18030"))
