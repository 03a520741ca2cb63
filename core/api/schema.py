"""OpenAPI (drf-spectacular) pieces for the errors the site's exception handler answers, for views to declare."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

# The header of every 503 the handler answers.
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before trying again.",
)


def unavailable(what: str) -> OpenApiResponse:
    """A 503: `what` cannot answer now (declare RETRY_AFTER among the operation's parameters too)."""
    return OpenApiResponse(description=f"{what} is unavailable; try again after `Retry-After` seconds.")


# The answers to a write that takes a file through the upload pipeline.
UPLOAD_REFUSALS = {
    400: OpenApiResponse(description="A refused field, or a refused file with a `code`, named per field."),
    413: OpenApiResponse(description="The file is larger than the largest accepted upload (`code`: `file_too_large`)."),
    415: OpenApiResponse(
        description="The file's content is not of an accepted type (`code`: `unsupported_type`), "
        "or the request body is of a media type the operation does not take."
    ),
}


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>` in the schema (core.api.authentication; keys from POST /api/auth/token/)."""

    target_class = "core.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, the key from `POST /api/auth/token/` (expires; rotate or revoke it "
            "under `/api/auth/token/`).",
        }
