"""API tokens for the signed-in user: obtain with username + password, rotate, revoke.

Tokens are django-rest-knox's: stored as a SHA-512 digest with an expiry (API_TOKEN_TTL); the key is
shown once, in the answer that issues it, and never logged.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class Credentials(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False, write_only=True)

    def validate(self, attrs):
        user = authenticate(self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None or not user.is_active:
            # One message for an unknown user and a wrong password: no account probing.
            raise serializers.ValidationError("Unable to sign in with these credentials.", code="authorization")
        attrs["user"] = user
        return attrs


class RevokeRequest(serializers.Serializer):
    all = serializers.BooleanField(default=False, help_text="Revoke every token of the user, not only this one.")


IssuedToken = inline_serializer(
    "IssuedToken",
    {
        "token": serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only once."),
        "expiry": serializers.DateTimeField(),
    },
)


def issue(user) -> Response:
    instance, key = AuthToken.objects.create(user=user)
    return Response({"token": key, "expiry": instance.expiry}, status=status.HTTP_200_OK)


def _current_token(request) -> AuthToken | None:
    return request.auth if isinstance(request.auth, AuthToken) else None


class ObtainTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"],
        summary="Obtain an API token",
        request=Credentials,
        responses={200: IssuedToken, 400: OpenApiResponse(description="Wrong username or password; nothing issued.")},
    )
    def post(self, request):
        serializer = Credentials(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return issue(serializer.validated_data["user"])


class RotateTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Rotate the token",
        description="Issues a new token and revokes the one this request carries (signed in by session: "
        "every token of the user).",
        request=None,
        responses={200: IssuedToken},
    )
    def post(self, request):
        current = _current_token(request)
        if current is not None:
            current.delete()
        else:
            AuthToken.objects.filter(user=request.user).delete()
        return issue(request.user)


class RevokeTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token",
        description="Revokes the token this request carries, or with `all` every token of the user "
        "(signed in by session: every token).",
        request=RevokeRequest,
        responses={204: None},
    )
    def post(self, request):
        serializer = RevokeRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        current = _current_token(request)
        if serializer.validated_data["all"] or current is None:
            AuthToken.objects.filter(user=request.user).delete()
        else:
            current.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
