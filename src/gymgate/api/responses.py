"""OpenAPI documentation the handlers share: error answers (all shaped as ErrorResponse) and
responses Litestar cannot describe alone."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)

from gymgate.api.schemas import ErrorResponse

__all__ = ["JsonOrImageOperation", "errors"]

_MEANING = {
    400: "a value is missing, malformed or refused; `detail` says which",
    401: "no credential, or not a valid one: send 'Authorization: Bearer <secret>'",
    402: "the payment is not completed",
    403: "the credential is valid but not allowed here",
    404: "no such payment or pass",
    409: "the payment's or key's state forbids it (refunded, not refundable, the active key)",
    413: "the body is larger than GYMGATE_MAX_BODY_BYTES",
    415: "the body is not declared as JSON",
    429: "too many requests from this client or gate, or too many wrong credentials from this "
    "address; retry after Retry-After seconds",
    502: "the payment provider did not answer properly",
    503: "the database or the key set is unavailable; nothing was recorded; retry after "
    "Retry-After seconds",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for these error statuses."""
    return {
        code: ResponseSpec(ErrorResponse, description=_MEANING[code], generate_examples=False)
        for code in codes
    }


@dataclass
class JsonOrImageOperation(Operation):
    """An operation whose 201 is JSON, or the bare image when the body asks for png or svg
    (Litestar documents one media type per response; this adds the other two)."""

    def __post_init__(self) -> None:
        created = (self.responses or {}).get("201")
        if isinstance(created, OpenAPIResponse) and created.content is not None:
            created.content["image/png"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            )
            created.content["image/svg+xml"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING)
            )
