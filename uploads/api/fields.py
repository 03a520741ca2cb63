"""Serializer fields the domain apps' APIs use to show the upload pipeline's state of their rows."""

from __future__ import annotations

from rest_framework import serializers

from uploads.models import UploadStatus


def upload_status_field(help_text: str) -> serializers.ChoiceField:
    """The status of a row's newest upload (the selectors' `upload_status` annotation); null before any upload."""
    return serializers.ChoiceField(choices=UploadStatus.choices, read_only=True, allow_null=True, help_text=help_text)
