"""Pure checks of work-order photos: size, count and type (by content, never by name or header)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from cloud.errors import Conflict, Invalid

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS_PER_ORDER = 8
# Room for the multipart envelope and the other form fields around one photo.
MULTIPART_OVERHEAD = 64 * 1024
# Pillow's own bomb guard is a warning below twice this; treat anything above as hostile.
MAX_PIXELS = 40_000_000

# Content types we keep, by their magic bytes; the file extension on disk follows.
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
_PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class PhotoTooLarge(Invalid):
    """The photo is over the size limit."""

    code = "photo_too_large"


class PhotoTypeNotAllowed(Invalid):
    """The file is not a JPEG, PNG or WebP image (whatever its name or declared type says)."""

    code = "photo_type_not_allowed"


class TooManyPhotos(Conflict):
    """The work order already holds the most photos it may."""

    code = "too_many_photos"


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce (JPEG, PNG, WebP), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_size(size: int, limit: int = MAX_PHOTO_BYTES) -> None:
    """Refuse a photo (or a declared request length) over the limit."""
    if size > limit:
        raise PhotoTooLarge(f"a photo may be at most {limit // (1024 * 1024)} MB", field="photo")


def check_count(existing: int, limit: int = MAX_PHOTOS_PER_ORDER) -> None:
    """Refuse another photo when the work order already has `limit`."""
    if existing >= limit:
        raise TooManyPhotos(f"a work order keeps at most {limit} photos", field="photo")


def check_image(data: bytes) -> str:
    """The photo's content type, when its magic bytes and a full decode agree (PhotoTypeNotAllowed else)."""
    if not data:
        raise PhotoTypeNotAllowed("the file is empty", field="photo")
    declared = sniff(data[:16])
    if declared is None:
        raise PhotoTypeNotAllowed("only JPEG, PNG and WebP photos are kept", field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoTypeNotAllowed("the image has too many pixels", field="photo")
                found = _PIL_FORMATS.get(image.format or "")
                image.load()  # decode every pixel: a truncated or forged body fails here
    except PhotoTypeNotAllowed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise PhotoTypeNotAllowed("the file does not decode as an image", field="photo") from err
    except Image.DecompressionBombWarning as err:
        raise PhotoTypeNotAllowed("the image has too many pixels", field="photo") from err
    if found != declared:
        raise PhotoTypeNotAllowed("the image's content does not match its type", field="photo")
    return declared
