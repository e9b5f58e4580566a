"""Attachments: upload a file for one's next message in a room, drop it, attach uploads to
a message, and delete files with what held them.

An upload is checked whole before anything is stored (size, type by name, an image by
its content, with a thumbnail made), so a refused or interrupted upload stores nothing.
It waits, its uploader's alone, until a message claims it (message_send, in the
message's transaction); uploads never sent are swept after CHAT_UPLOAD_PENDING_HOURS.
"""

import io
import logging
import unicodedata
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import policy, ratelimit
from ..errors import BadFile, FileTooLarge, NotFound, TooManyUploads, UnsupportedType
from ..models import ATTACHMENT_NAME_MAX, Attachment, Message, Room
from ..records import attachment_data

logger = logging.getLogger(__name__)

# The types a page shows as pictures: what browsers decode safely as images. Pillow's
# name for each: an image's content must be one of these, of the type its name says.
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}

# A file's type comes from its name's extension, by this table, not from the system's
# mime.types: the same on every machine, and a type the client claims counts for nothing.
EXTENSION_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
DEFAULT_NAME = "file"


def clean_file_name(name: str) -> str:
    """Return an upload's name as shown and offered: no path, no control characters, not
    too long (its extension kept)."""
    name = PurePath(str(name).replace("\\", "/")).name
    name = "".join(
        c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C"
    )
    name = name.strip().strip(".") or DEFAULT_NAME
    if len(name) > ATTACHMENT_NAME_MAX:
        suffix = PurePath(name).suffix[:16]
        name = name[: ATTACHMENT_NAME_MAX - len(suffix)] + suffix
    return name


def size_in_words(size: int) -> str:
    """Say a number of bytes as people do ("10 MB")."""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _type_of(name: str) -> str:
    content_type = EXTENSION_TYPES.get(PurePath(name).suffix.lower())
    if content_type is None or content_type not in settings.CHAT_UPLOAD_TYPES:
        raise UnsupportedType(
            f"Files of this type can't be shared here. Allowed: {', '.join(_allowed_extensions())}."
        )
    return content_type


def _allowed_extensions() -> list[str]:
    return sorted(
        ext for ext, kind in EXTENSION_TYPES.items() if kind in settings.CHAT_UPLOAD_TYPES
    )


class _Picture:
    """What an image upload holds: its format's type, its size as shown, a WebP thumbnail."""

    def __init__(self, content_type: str, size: tuple[int, int], thumbnail: Image.Image):
        self.content_type = content_type
        self.width, self.height = size
        self.thumbnail_width, self.thumbnail_height = thumbnail.size
        out = io.BytesIO()
        thumbnail.save(out, format="WEBP", quality=80)
        self.thumbnail = out.getvalue()


def _read_picture(upload: UploadedFile) -> _Picture:
    """Decode an image upload (or refuse it) and make its thumbnail."""
    try:
        upload.seek(0)
        with Image.open(upload, formats=list(IMAGE_TYPES.values())) as image:
            # By its content: a JPEG named .png is a JPEG (when JPEGs are allowed).
            content_type = next(kind for kind, name in IMAGE_TYPES.items() if name == image.format)
            if content_type not in settings.CHAT_UPLOAD_TYPES:
                raise UnsupportedType("Pictures of this format can't be shared here.")
            width, height = image.size
            if width * height > settings.CHAT_UPLOAD_IMAGE_PIXELS_MAX:
                raise FileTooLarge(
                    f"Pictures are limited to {settings.CHAT_UPLOAD_IMAGE_PIXELS_MAX:,} pixels."
                )
            # As the camera held it (an animation: its first frame); decoding it here is
            # what proves the file is the picture it claims to be.
            thumbnail = ImageOps.exif_transpose(image)  # a copy, whichever way it turns
            shown = thumbnail.size
            thumbnail.thumbnail((settings.CHAT_THUMBNAIL_SIZE, settings.CHAT_THUMBNAIL_SIZE))
            if thumbnail.mode not in ("RGB", "RGBA"):
                thumbnail = thumbnail.convert("RGBA")
            return _Picture(content_type, shown, thumbnail)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise BadFile("This file is not a picture that can be shown (or it is damaged).") from None
    finally:
        upload.seek(0)


def _check_size(size: int) -> None:
    if size > settings.CHAT_UPLOAD_MAX_BYTES:
        raise FileTooLarge(
            f"Files are limited to {size_in_words(settings.CHAT_UPLOAD_MAX_BYTES)}; "
            f"this one is {size_in_words(size)}."
        )


def upload_too_large(declared_length: int) -> bool:
    """Tell whether a request's declared length is past any upload it may carry (the form's
    own fields and boundaries take a little beside the file)."""
    return declared_length > settings.CHAT_UPLOAD_MAX_BYTES + 64 * 1024


def attachment_upload(*, room: Room, access: policy.Access, user, upload: UploadedFile) -> dict:
    """Store a file for the user's next message in the room; return its record.

    Refused (and nothing stored) for who may not post there, past the rate or the number
    of uploads waiting, past the size limit, of a type not allowed, or an image that does
    not decode.
    """
    policy.check_post(access)
    ratelimit.require_token(
        key=f"upload:{user.pk}",
        capacity=settings.CHAT_RATE_UPLOADS,
        period=settings.CHAT_RATE_UPLOADS_PERIOD,
        refusal="You are uploading files too fast.",
    )
    _check_size(upload.size)
    name = clean_file_name(upload.name or DEFAULT_NAME)
    content_type = _type_of(name)
    picture = _read_picture(upload) if content_type in IMAGE_TYPES else None
    sweep_pending()
    if Attachment.objects.filter(uploader=user, message__isnull=True).count() >= (
        settings.CHAT_UPLOADS_PENDING_MAX
    ):
        raise TooManyUploads("Too many files are waiting to be sent: send or remove some first.")
    attachment = Attachment(room=room, uploader=user, name=name, size=upload.size)
    attachment.content_type = content_type if picture is None else picture.content_type
    if picture is not None:
        attachment.width, attachment.height = picture.width, picture.height
        attachment.thumbnail_width = picture.thumbnail_width
        attachment.thumbnail_height = picture.thumbnail_height
    # The files first, then the row: a failure in between deletes the files again.
    attachment.file.save(name, upload, save=False)
    try:
        if picture is not None:
            attachment.thumbnail.save("thumbnail.webp", ContentFile(picture.thumbnail), save=False)
        attachment.save()
    except BaseException:
        _delete_files(attachment.file.name, attachment.thumbnail.name)
        raise
    return attachment_data(attachment)


def attachment_discard(*, user, attachment_id: int) -> None:
    """Delete one of the user's uploads not sent yet (its files go on commit)."""
    deleted, _kinds = Attachment.objects.filter(
        pk=attachment_id, uploader=user, message__isnull=True
    ).delete()
    if not deleted:
        raise NotFound("No such upload waiting to be sent.")


def attachments_claim(*, room: Room, user, attachment_ids: list[int]) -> list[Attachment]:
    """Lock the user's pending uploads for a message in the room, in the order given.

    Inside the message's transaction: the caller sets their `message` (attachments_attach)
    once the message exists. NotFound when one was sent already, removed, or is not the
    user's upload for this room.
    """
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return []  # most messages: no query to build
    found = {
        attachment.pk: attachment
        for attachment in Attachment.objects.select_for_update().filter(
            pk__in=wanted, room=room, uploader=user, message__isnull=True
        )
    }
    if len(found) != len(wanted):
        raise NotFound("No such upload to send: it was sent already or removed. Attach it again.")
    return [found[attachment_id] for attachment_id in wanted]


def attachments_attach(message: Message, attachments: list[Attachment]) -> None:
    """Make claimed uploads the message's."""
    if attachments:
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(message=message)


def sweep_pending(*, limit: int = 100) -> int:
    """Delete uploads never sent and older than CHAT_UPLOAD_PENDING_HOURS (the oldest
    `limit` of them); return how many went."""
    cutoff = timezone.now() - timedelta(hours=settings.CHAT_UPLOAD_PENDING_HOURS)
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff).order_by(
        "created_at"
    )
    ids = list(stale.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _kinds = Attachment.objects.filter(pk__in=ids, message__isnull=True).delete()
    return deleted


def delete_files_on_commit(attachment: Attachment) -> None:
    """Delete an attachment's stored files once the deletion of its row commits."""
    names = (attachment.file.name, attachment.thumbnail.name)
    transaction.on_commit(lambda: _delete_files(*names))


def _delete_files(*names: str) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except OSError as error:
            # The row is gone: a file left behind is only space, and is logged to be found.
            logger.warning("Could not delete the stored file %s: %s", name, error)
