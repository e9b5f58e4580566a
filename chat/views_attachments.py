"""Attachments over HTTP: upload a file for one's next message, drop an upload, and fetch
a shared file (docs/protocol.md, "Attachments").

A file is only ever a download or a picture: it is served with the type chosen on
upload, `nosniff`, and a sandboxing Content-Security-Policy, inline only when it is a
picture browsers decode as one (never SVG), so nothing in it runs in the site's origin.
"""

from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.http import require_GET
from ninja import Router

from api.errors import error_response_from
from api.schemas import answers

from . import errors, services
from .realtime import protocol
from .schemas.attachments import UPLOAD_FORM, AttachmentAnswer
from .selectors.attachments import attachment_for_reader
from .services.attachments import (
    IMAGE_TYPES,
    attachment_discard,
    attachment_upload,
    size_in_words,
    upload_too_large,
)

# Its operations in the HTTP API (api/http.py mounts it).
router = Router(tags=["attachments"])


@router.post(
    "/rooms/{room:slug}/attachments/",
    url_name="api_room_attachments",
    response=answers({201: AttachmentAnswer}, also=(413, 415)),
    openapi_extra={"requestBody": UPLOAD_FORM},
)
def api_room_attachments(request, slug: str):
    """Store the form's `file` for the caller's next message in the room; 201 with it."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    # Refused by its declared length before the form is parsed at all.
    if declared.isdigit() and upload_too_large(int(declared)):
        raise errors.FileTooLarge(
            f"Files are limited to {size_in_words(settings.CHAT_UPLOAD_MAX_BYTES)}."
        )
    room, access = services.room_open(slug=slug, user=request.user)
    try:
        files = request.FILES.getlist("file")
    except MultiPartParserError:
        raise errors.Invalid("The upload is not a valid form (multipart/form-data).") from None
    if len(files) != 1:
        raise errors.Invalid("Send one file, as the form field 'file'.")
    record = attachment_upload(room=room, access=access, user=request.user, upload=files[0])
    return JsonResponse({"attachment": record}, status=201)


@router.delete(
    "/attachments/{int:attachment_id}/", url_name="api_attachment", response=answers({204: None})
)
def api_attachment(request, attachment_id: int):
    """Drop one of the caller's uploads not sent yet."""
    attachment_discard(
        user=request.user, attachment_id=protocol.parse_int(attachment_id, "id", minimum=1)
    )
    return HttpResponse(status=204)


@require_GET
def attachment_file(request, attachment_id, name):
    """Serve a shared file to who may read its room (the name in the path is for people)."""
    return _serve(request, attachment_id, thumbnail=False)


@require_GET
def attachment_thumbnail(request, attachment_id):
    """Serve a shared picture's thumbnail to who may read its room."""
    return _serve(request, attachment_id, thumbnail=True)


def _serve(request, attachment_id: int, *, thumbnail: bool):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        attachment = attachment_for_reader(attachment_id=attachment_id, user=request.user)
    except errors.ChatError as error:
        return error_response_from(error)
    if thumbnail and not attachment.thumbnail:
        return error_response_from(errors.NotFound("This file has no thumbnail."))
    stored = attachment.thumbnail if thumbnail else attachment.file
    try:
        handle = stored.open("rb")
    except OSError:
        return error_response_from(errors.NotFound("This file is no longer stored."))
    picture = thumbnail or attachment.content_type in IMAGE_TYPES
    response = FileResponse(
        handle,
        content_type="image/webp" if thumbnail else attachment.content_type,
        # A picture shows in the page; anything else is only ever saved.
        as_attachment=not picture,
        filename=f"{PurePath(attachment.name).stem}-thumbnail.webp"
        if thumbnail
        else attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own (a new tab), a file gets no script, no plugin, no same origin.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Its readers' alone: no shared cache keeps it; a browser keeps it a while.
    response["Cache-Control"] = "private, max-age=3600"
    return response
