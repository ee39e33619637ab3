"""Work-order photos and the maintainer's queue (pure): size, count, type by content, sort, on-site room."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from cloud.faults import photos
from cloud.faults.model import (
    NoteRequired,
    WorkOrderClosed,
    WorkOrderState,
    WrongRoom,
    check_on_site_room,
    check_open_for_work,
    clean_note,
    queue_key,
)


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6)) -> bytes:
    """A small real image in fmt."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_a_real_jpeg_png_or_webp_is_kept_as_its_content_says(fmt: str, content_type: str) -> None:
    data = image_bytes(fmt)
    assert photos.sniff(data[:16]) == content_type
    assert photos.check_image(data) == content_type


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is a text file named photo.jpg\n",
        b"GIF89a" + bytes(40),
        b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10,  # JPEG magic bytes, body that will not decode
        image_bytes("PNG")[:40],  # a truncated PNG
    ],
)
def test_anything_that_is_not_a_decodable_jpeg_png_or_webp_is_refused(data: bytes) -> None:
    with pytest.raises(photos.PhotoTypeNotAllowed) as refused:
        photos.check_image(data)
    assert refused.value.code == "photo_type_not_allowed"


def test_magic_bytes_that_disagree_with_the_decoded_format_are_refused() -> None:
    png = image_bytes("PNG")
    # a GIF body behind JPEG magic bytes would need a decoder to agree with the sniff: it does not
    with pytest.raises(photos.PhotoTypeNotAllowed):
        photos.check_image(b"\xff\xd8\xff" + png)


def test_size_and_count_limits_refuse_with_stable_codes() -> None:
    photos.check_size(photos.MAX_PHOTO_BYTES)
    with pytest.raises(photos.PhotoTooLarge) as big:
        photos.check_size(photos.MAX_PHOTO_BYTES + 1)
    assert big.value.code == "photo_too_large"
    photos.check_count(photos.MAX_PHOTOS_PER_ORDER - 1)
    with pytest.raises(photos.TooManyPhotos) as many:
        photos.check_count(photos.MAX_PHOTOS_PER_ORDER)
    assert many.value.code == "too_many_photos"


def test_the_queue_puts_critical_first_then_the_oldest() -> None:
    t = datetime(2026, 11, 1, 12, tzinfo=UTC)
    rows = [
        ("minor-old", "minor", t - timedelta(hours=5)),
        ("critical-new", "critical", t),
        ("critical-old", "critical", t - timedelta(hours=1)),
        ("minor-new", "minor", t - timedelta(minutes=1)),
    ]
    ordered = sorted(rows, key=lambda r: queue_key(r[1], r[2], r[0]))
    assert [r[0] for r in ordered] == ["critical-old", "critical-new", "minor-old", "minor-new"]


def test_a_note_needs_words_and_a_resolved_order_takes_no_more() -> None:
    assert clean_note("  bolt replaced \n") == "bolt replaced"
    with pytest.raises(NoteRequired):
        clean_note("   ")
    check_open_for_work(WorkOrderState.IN_PROGRESS)
    with pytest.raises(WorkOrderClosed) as closed:
        check_open_for_work(WorkOrderState.RESOLVED)
    assert closed.value.code == "work_order_resolved"


def test_on_site_needs_the_orders_room_or_any_room_for_a_store_wide_device() -> None:
    check_on_site_room("rm-1", "rm-1")
    check_on_site_room(None, "rm-9")
    with pytest.raises(WrongRoom) as wrong:
        check_on_site_room("rm-1", "rm-2")
    assert wrong.value.code == "wrong_room"
