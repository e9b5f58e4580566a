"""The pieces every request and response schema of the HTTP API is built from.

A request's fields are declared as pydantic fields, so the OpenAPI schema describes them
and django-ninja reads and checks them. Their rules stay the protocol's own
(chat.realtime.frames_in, chat.validation): a field's validator calls the same function a
WebSocket frame's field goes through, and what it refuses propagates as that function's
ProtocolError or ChatError, with the code and sentence documented for both.
"""

from typing import Annotated, Any

from django.conf import settings
from ninja import Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from chat.realtime.frames_in import parse_int
from chat.realtime.wire import BAD_FRAME, MAX_INT, ProtocolError


# Requests are plain pydantic models: a ninja Schema hands validators a wrapper of the
# data, not the dict the protocol's cleaners take.
class RequestBody(BaseModel):
    """A JSON request body: unknown fields are ignored, as in a frame."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ProtocolError(BAD_FRAME, "The request body must be a JSON object.")
        return data


class QueryParameters(BaseModel):
    """A request's query string: unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")


def _body_int(minimum: int, maximum: int):
    def check(value: Any, info: ValidationInfo) -> int:
        if isinstance(value, str):  # a body's integers are JSON numbers, not strings
            raise ProtocolError(BAD_FRAME, f"'{info.field_name}' must be an integer.")
        return parse_int(value, info.field_name, minimum=minimum, maximum=maximum)

    return check


def _query_int(minimum: int, maximum: int):
    def check(value: Any, info: ValidationInfo) -> int:
        return parse_int(value, info.field_name, minimum=minimum, maximum=maximum)

    return check


def BodyInt(minimum: int = 0, maximum: int = MAX_INT):
    """Return the type of a JSON body's integer field: a number (never "1", never true)
    from `minimum` to `maximum`, checked by the protocol's parse_int."""
    return Annotated[
        int, Field(ge=minimum, le=maximum), BeforeValidator(_body_int(minimum, maximum))
    ]


def QueryInt(minimum: int = 0, maximum: int = MAX_INT):
    """Return the type of a query string's integer: ASCII digits from `minimum` to
    `maximum`, checked by the protocol's parse_int."""
    return Annotated[
        int, Field(ge=minimum, le=maximum), BeforeValidator(_query_int(minimum, maximum))
    ]


class ErrorDetail(Schema):
    code: str = Field(description="What went wrong, one of docs/protocol.md's error codes.")
    detail: str = Field(description="A sentence for a person.")
    retry_after: float | None = Field(
        None, description="rate_limited: seconds until a retry may succeed."
    )
    until: str | None = Field(None, description="muted: when the mute ends (ISO 8601).")


class Error(Schema):
    """Every refusal: `{"error": {"code", "detail", ...}}`, with the code's status."""

    error: ErrorDetail


# The statuses any operation may refuse with (docs/protocol.md, "Errors").
REFUSALS = (400, 401, 403, 404, 409, 429, 500)


def answers(ok: dict, *, also: tuple[int, ...] = ()) -> dict:
    """Return an operation's `response` map: its own answers, and the refusals (with the
    statuses `also`, such as an upload's 413 and 415)."""
    return {**ok, (*REFUSALS, *also): Error}


def declared_length_too_long(request) -> bool:
    """Whether a JSON request declares a body longer than CHAT_FRAME_MAX."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    return declared.isdigit() and int(declared) > settings.CHAT_FRAME_MAX
