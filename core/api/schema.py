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


ERROR_BODY = {
    "type": "object",
    "description": "`detail` (a message) or each refused field with its messages; `code` when the cause has one.",
    "additionalProperties": True,
}
_GENERIC_ERRORS = {
    "400": "Invalid input: a query parameter or a field of the body, named with its messages.",
    "401": "No valid credentials (the token scheme is advertised in `WWW-Authenticate`).",
    "403": "Authenticated but not allowed (a session without its CSRF token, or not staff).",
    "404": "No such object of yours (another user's answers the same), or no such page.",
    "406": "The `Accept` header names no type this operation answers with.",
}


def document_error_answers(result, generator, request, public):
    """drf-spectacular post-processing hook: each operation lists the error answers it can give.

    The exception handler (instantory.api.exception_handler) answers every error as JSON; which of
    them an operation can meet follows from its shape: input (query parameters or a body) can be
    400, an operation that needs a login 401/403, one with path parameters or pages 404, and any
    operation 406 for an Accept header it cannot satisfy. Answers an operation already declares
    (its own 400 or 404 wording) are kept.
    """
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "put", "patch", "post", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            wanted = {"406"}
            if any(p.get("in") == "query" for p in parameters) or "requestBody" in operation:
                wanted.add("400")
            if {} not in operation.get("security", []):  # `{}`: anonymous callers are let in
                wanted |= {"401", "403"}
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                wanted.add("404")
            for status in sorted(wanted):
                if status not in responses:
                    responses[status] = {
                        "description": _GENERIC_ERRORS[status],
                        "content": {"application/json": {"schema": ERROR_BODY}},
                    }
    return result
