"""Direct uploads over the API: the client sends the file to Vercel Blob or S3, never through this server.

- `GET /api/uploads/direct/` says where to upload now: `vercel`, `s3` or `server` (POST /api/uploads/);
- `POST /api/uploads/direct/vercel` is the route `@vercel/blob/client`'s `upload()` calls
  (`handleUploadUrl`), speaking its JSON protocol: `blob.generate-client-token` (authenticated) and the
  service's signed `blob.upload-completed` callback (verified by its `x-vercel-signature`);
- `POST /api/uploads/direct/s3` starts an S3 direct upload (a presigned PUT, or presigned multipart
  parts for a large file), `POST /api/uploads/direct/s3/<id>/complete` finishes it and
  `POST /api/uploads/direct/s3/<id>/abort` gives it up.
Refusals answer `{"error": {"code", "message"}}`; a target that moved (its breaker open) answers 503
with the `target` to use instead.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from uploads import kinds
from uploads.api.uploads import UploadOutputSerializer
from uploads.models import UploadTracking
from uploads.services.direct import (
    DirectTargetMoved,
    direct_s3_abort,
    direct_s3_complete,
    direct_s3_start,
    direct_target,
    direct_vercel_completed,
    direct_vercel_token,
)
from uploads.validation import UploadRejected


def _refused(exc: UploadRejected) -> Response:
    code = getattr(exc, "status", None) or {"file_too_large": 413, "unsupported_type": 415}.get(exc.code, 400)
    return Response({"error": {"code": exc.code, "message": exc.message}}, status=code)


def _moved(exc: DirectTargetMoved) -> Response:
    target = {"backend": exc.target.backend, "url": exc.target.url}
    message = f"Direct uploads go to {exc.target.backend} now; use {exc.target.url}."
    # 409: the request is fine but conflicts with where uploads go now (the breakers moved the
    # target); the body says where to go instead, so a client retries there at once.
    return Response(
        {"error": {"code": "target_moved", "message": message}, "target": target}, status=status.HTTP_409_CONFLICT
    )


ERROR = OpenApiResponse(
    response={"type": "object", "additionalProperties": True},
    description="`error`: `code` and `message`; `target` too when uploads go elsewhere now (409).",
)


class DirectTargetApi(APIView):
    @extend_schema(responses={200: {"type": "object"}})
    def get(self, request):
        # Where the client should upload now: `vercel`, `s3` or `server`, with the URL to call.
        target = direct_target()
        return Response(
            {
                "backend": target.backend,
                "url": target.url,
                "max_size": settings.UPLOAD_MAX_SIZE,
                "folders": {
                    spec.name: f"{spec.folder}/{request.user.pk}/" for spec in kinds.registered() if spec.target_field
                },
            }
        )


class DirectVercelApi(APIView):
    # The completion callback comes from the Vercel Blob service, signed, with no user credentials;
    # a token request must be authenticated (checked below).
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("pathname", str, description="The pathname given to upload().")],
        responses={200: UploadOutputSerializer, 401: ERROR, 404: ERROR},
    )
    def get(self, request):
        # The upload row of a pathname given to `upload()` (upload() does not return the row's id).
        if not request.user or not request.user.is_authenticated:
            return Response({"error": {"code": "not_authenticated", "message": "Sign in first."}}, status=401)
        row = UploadTracking.objects.filter(
            owner=request.user,
            permanent_name=request.query_params.get("pathname", ""),
            direct_valid_until__isnull=False,
        ).first()
        if row is None:
            return Response({"error": {"code": "not_found", "message": "No such upload."}}, status=404)
        return Response(UploadOutputSerializer(row).data)

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: {"type": "object"}, 401: ERROR, 409: ERROR, 413: ERROR, 415: ERROR},
    )
    def post(self, request):
        # `@vercel/blob/client` handleUpload: `blob.generate-client-token` or `blob.upload-completed`.
        raw = request.body
        try:
            body = json.loads(raw)
        except ValueError:
            return Response({"error": {"code": "invalid_body", "message": "The body is not JSON."}}, status=400)
        kind = body.get("type") if isinstance(body, dict) else None
        try:
            if kind == "blob.generate-client-token":
                if not request.user or not request.user.is_authenticated:
                    return Response(
                        {"error": {"code": "not_authenticated", "message": "Sign in (Authorization: Token …) first."}},
                        status=status.HTTP_401_UNAUTHORIZED,
                    )
                callback_url = settings.UPLOAD_DIRECT_CALLBACK_URL or request.build_absolute_uri(
                    reverse("upload-direct-vercel")
                )
                token = direct_vercel_token(owner=request.user, payload=body.get("payload"), callback_url=callback_url)
                return Response({"type": "blob.generate-client-token", "clientToken": token})
            if kind == "blob.upload-completed":
                direct_vercel_completed(body=raw, signature=request.headers.get("x-vercel-signature"))
                return Response({"type": "blob.upload-completed", "response": "ok"})
        except DirectTargetMoved as exc:
            return _moved(exc)
        except UploadRejected as exc:
            return _refused(exc)
        return Response(
            {
                "error": {
                    "code": "invalid_type",
                    "message": "type must be blob.generate-client-token or blob.upload-completed.",
                }
            },
            status=400,
        )


class DirectS3StartInputSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=1024)
    size = serializers.IntegerField(min_value=1)
    content_type = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    kind = serializers.CharField(max_length=32)
    inventory_item = serializers.IntegerField(required=False, min_value=1)
    document = serializers.IntegerField(required=False, min_value=1)


class DirectS3Api(APIView):
    @extend_schema(
        request=DirectS3StartInputSerializer, responses={201: {"type": "object"}, 409: ERROR, 413: ERROR, 415: ERROR}
    )
    def post(self, request):
        # Start an S3 direct upload: a presigned PUT (`put`) or presigned multipart parts (`multipart`).
        data = DirectS3StartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            answer = direct_s3_start(
                owner=request.user,
                filename=values["filename"],
                size=values["size"],
                content_type=values["content_type"],
                kind=values["kind"],
                target_ids={field: values.get(field) for field in kinds.by_target_field()},
            )
        except DirectTargetMoved as exc:
            return _moved(exc)
        except UploadRejected as exc:
            return _refused(exc)
        answer["complete_url"] = reverse("upload-direct-s3-complete", args=[answer["upload"]])
        answer["abort_url"] = reverse("upload-direct-s3-abort", args=[answer["upload"]])
        return Response(answer, status=status.HTTP_201_CREATED)


class DirectS3CompleteApi(APIView):
    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={202: UploadOutputSerializer, 413: ERROR, 415: ERROR},
    )
    def post(self, request, upload_id: int):
        # The object was sent: close the multipart upload (`parts`: [{part_number, etag}]) and finish the row.
        if not isinstance(request.data, dict):
            return Response(
                {"error": {"code": "invalid_body", "message": "The body is not a JSON object."}}, status=400
            )
        try:
            upload = direct_s3_complete(owner=request.user, upload_id=upload_id, parts=request.data.get("parts"))
        except UploadRejected as exc:
            return _refused(exc)
        return Response(UploadOutputSerializer(upload).data, status=status.HTTP_202_ACCEPTED)


class DirectS3AbortApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, upload_id: int):
        # Give an S3 direct upload up: the parts sent are dropped, the row ends `error`.
        try:
            direct_s3_abort(owner=request.user, upload_id=upload_id)
        except UploadRejected as exc:
            return _refused(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)
