"""Token authentication for `Authorization: Token <key>`: hashed, expiring tokens (django-rest-knox).

Keys issued before knox (DRF's `rest_framework.authtoken`, plain and without expiry, e.g. made by
staff in the admin) are still accepted, so existing clients keep working; new keys come only from
`POST /api/auth/token/`, stored as a digest with an expiry (REST_KNOX["TOKEN_TTL"]).
"""

from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication as LegacyTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox tokens first; a key knox does not know is tried as a legacy DRF token."""

    def authenticate_credentials(self, token: bytes):
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed:
            try:
                return LegacyTokenAuthentication().authenticate_credentials(token.decode("utf-8", "replace"))
            except exceptions.AuthenticationFailed:
                raise exceptions.AuthenticationFailed("Invalid or expired token.") from None
