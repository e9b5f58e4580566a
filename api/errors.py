"""The HTTP API's error body, `{"error": {"code", "detail", ...}}`, with the status each
code has (docs/protocol.md, "Status codes and errors"): every refusal under /api/ and
/files/ is answered by these."""

from django.http import JsonResponse

from chat import errors
from chat.realtime import protocol

ERROR_STATUS = {
    errors.RateLimited.code: 429,
    errors.RoomArchived.code: 409,
    errors.Muted.code: 403,
    errors.NotFound.code: 404,
    errors.Forbidden.code: 403,
    errors.NotMember.code: 409,
    errors.TooManyReactions.code: 409,
    errors.FileTooLarge.code: 413,
    errors.UnsupportedType.code: 415,
    errors.TooManyUploads.code: 409,
    protocol.SERVER_ERROR: 500,
}


def error_response(code: str, detail: str, status: int = 400, **extra) -> JsonResponse:
    """Return the error body of `code`; a rate limit says when to retry (Retry-After)."""
    response = JsonResponse({"error": {"code": code, "detail": detail, **extra}}, status=status)
    if code == protocol.RATE_LIMITED and "retry_after" in extra:
        response["Retry-After"] = str(max(1, round(extra["retry_after"])))
    return response


def error_response_from(error: errors.ChatError) -> JsonResponse:
    """Return the error body of a domain or protocol error, with its code's status."""
    extra = {}
    for name in ("retry_after", "until"):
        if error.extra.get(name) is not None:
            value = error.extra[name]
            extra[name] = protocol.format_time(value) if hasattr(value, "utcoffset") else value
    return error_response(error.code, error.detail, ERROR_STATUS.get(error.code, 400), **extra)
