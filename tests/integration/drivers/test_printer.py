"""EscposPrinter against SimulatedEscposPrinter over raw TCP: jobs, DLE EOT status, every fault."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.printer import (
    PROFILES,
    Align,
    Cut,
    EscposPrinter,
    Feed,
    Line,
    PrinterCoverOpen,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterPaperOut,
    PrinterStatusError,
    PrinterTimeout,
    PrintJob,
    QrCode,
)
from simulators.printer_escpos import PrintedLine, SimulatedEscposPrinter
from tests.conftest import free_port

JOB = PrintJob(
    (
        Line("GATEHOUSE 茶室", bold=True, align=Align.CENTER, double=True),
        Line("Room A   2h   88.00"),
        QrCode("GH1.abc.def"),
        Feed(1),
        Cut(),
    ),
    job_id="order-1",
)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedEscposPrinter]:
    """A ready printer on a free port."""
    async with SimulatedEscposPrinter() as printer:
        yield printer


def make_printer(
    port: int, *, timeout: float = 1.0, tries: int = 3, profile: str = "receipt-80mm"
) -> EscposPrinter:
    """A driver with test-sized timeouts and a fixed clock."""
    return EscposPrinter(
        "printer-1",
        "127.0.0.1",
        port,
        profile=PROFILES[profile],
        timeout=timeout,
        tries=tries,
        backoff=0.01,
        clock=lambda: 5.0,
    )


async def test_a_job_is_printed_between_two_status_checks_and_cut(sim: SimulatedEscposPrinter) -> None:
    async with make_printer(sim.port) as printer:
        receipt = await printer.print(JOB)
    assert receipt.job_id == "order-1" and receipt.warnings == ()
    assert receipt.status.online and receipt.status.at == 5.0
    assert sim.status_queries == 8  # DLE EOT 1-4 before and after
    assert sim.lines[0] == PrintedLine("GATEHOUSE 茶室", bold=True, align=1, double=True)
    assert sim.lines[1] == PrintedLine("Room A   2h   88.00")
    assert sim.qr_codes == ["GH1.abc.def"]
    assert sim.cuts == 1 and sim.receipts[0][:3] == [
        "GATEHOUSE 茶室",
        "Room A   2h   88.00",
        "[QR:GH1.abc.def]",
    ]
    assert receipt.bytes_sent == len(sim.received)


async def test_a_narrow_printer_without_qr_or_cutter_prints_the_code_as_text_and_feeds(
    sim: SimulatedEscposPrinter,
) -> None:
    async with make_printer(sim.port, profile="kitchen-58mm") as printer:
        await printer.print(PrintJob((Line("x" * 40), QrCode("GH1.q"), Cut())))
    assert sim.text[:2] == ["x" * 32, "GH1.q"]
    assert sim.cuts == 0 and sim.qr_codes == []


async def test_a_status_query_of_a_ready_printer_returns_its_status(sim: SimulatedEscposPrinter) -> None:
    async with make_printer(sim.port) as printer:
        status = await printer.status()
        assert (status.online, status.paper_out, status.cover_open) == (True, False, False)
        assert printer.last_status == status


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("paper_out", PrinterPaperOut, "paper_out"),
        ("cover_open", PrinterCoverOpen, "cover_open"),
        ("cutter_error", PrinterFault, "error"),
        ("offline", PrinterOffline, "offline"),
    ],
)
async def test_a_faulty_printer_refuses_the_job_before_sending_anything(
    sim: SimulatedEscposPrinter, fault: str, error: type[PrinterError], code: str
) -> None:
    setattr(sim, fault, True)
    async with make_printer(sim.port) as printer:
        with pytest.raises(error) as info:
            await printer.print(JOB)
        assert info.value.code == code
        assert "before job" in str(info.value)
        with pytest.raises(error):
            await printer.status()
        assert printer.last_status is not None and not printer.last_status.online
    assert sim.received == bytearray() and sim.lines == []


async def test_paper_running_out_during_the_job_is_reported_after_it(sim: SimulatedEscposPrinter) -> None:
    sim.paper_left = 1
    async with make_printer(sim.port) as printer:
        with pytest.raises(PrinterPaperOut, match="after job order-1"):
            await printer.print(JOB)
    assert sim.text == ["GATEHOUSE 茶室"]
    assert sim.cuts == 0


async def test_paper_near_end_prints_with_a_warning(sim: SimulatedEscposPrinter) -> None:
    sim.paper_near_end = True
    async with make_printer(sim.port) as printer:
        receipt = await printer.print(JOB)
    assert receipt.warnings == ("paper_near_end",)
    assert receipt.status.paper_near_end and not receipt.status.paper_out
    assert sim.cuts == 1


@pytest.mark.parametrize("fault", ["garbage_status", "truncate_status"])
async def test_a_garbage_or_truncated_status_is_bad_status_and_nothing_is_printed(
    sim: SimulatedEscposPrinter, fault: str
) -> None:
    setattr(sim, fault, True)
    async with make_printer(sim.port) as printer:
        with pytest.raises(PrinterStatusError) as info:
            await printer.print(JOB)
    assert info.value.code == "bad_status"
    assert sim.lines == []
    assert sim.accepted == 3  # each try on a fresh connection


async def test_a_silent_printer_is_a_timeout_and_the_next_query_uses_a_new_connection(
    sim: SimulatedEscposPrinter,
) -> None:
    sim.drop_status = True
    async with make_printer(sim.port, timeout=0.1, tries=2) as printer:
        with pytest.raises(PrinterTimeout) as info:
            await printer.status()
        assert info.value.code == "timeout"
        sim.drop_status = False
        assert (await printer.status()).online
    assert sim.accepted == 3


async def test_a_status_delayed_within_the_timeout_succeeds(sim: SimulatedEscposPrinter) -> None:
    sim.status_delay_s = 0.02
    async with make_printer(sim.port) as printer:
        assert (await printer.print(JOB)).status.online
    assert sim.accepted == 1


async def test_a_switched_off_printer_is_offline_and_prints_once_back(sim: SimulatedEscposPrinter) -> None:
    async with make_printer(sim.port, tries=2) as printer:
        await printer.status()
        await sim.go_offline()
        with pytest.raises(PrinterOffline):
            await printer.print(JOB)
        await sim.come_online()
        await printer.print(JOB)
    assert sim.cuts == 1


async def test_a_printer_down_at_start_is_reached_later() -> None:
    port = free_port()
    async with make_printer(port, tries=1) as printer:
        assert not printer.connected
        with pytest.raises(PrinterOffline):
            await printer.status()
        async with SimulatedEscposPrinter(port=port) as sim:
            await printer.print(JOB)
            assert sim.cuts == 1


async def test_a_line_with_control_characters_is_refused_before_any_io() -> None:
    with pytest.raises(ValueError, match="control"):
        Line("name\x1b@")
    with pytest.raises(ValueError):
        PrintJob(())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replies=st.binary(max_size=6))
async def test_any_status_reply_bytes_give_a_status_or_a_printer_error(
    sim: SimulatedEscposPrinter, replies: bytes
) -> None:
    sim.scripted_status = bytearray(replies)
    async with make_printer(sim.port, tries=1) as printer:
        with contextlib.suppress(PrinterError):
            status = await printer.status()
            assert status.online  # only a ready printer passes status()
    if len(replies) < 4:
        assert printer.last_status is None


printable = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)


def _fitted(text: str, columns: int) -> str:
    out = ""
    for ch in text:
        if len((out + ch).encode("gb18030")) > columns:
            break
        out += ch
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(printable, min_size=1, max_size=4))
async def test_the_printer_prints_exactly_the_lines_it_is_sent_cut_to_its_width(
    sim: SimulatedEscposPrinter, texts: list[str]
) -> None:
    sim.lines.clear()
    async with make_printer(sim.port) as printer:
        await printer.print(PrintJob(tuple(Line(text) for text in texts)))
    assert sim.text == [_fitted(text, 48) for text in texts]
