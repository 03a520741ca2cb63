"""Admin form fields for files that go through the tracked upload pipeline, not straight into a model field."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.html import format_html

from uploads import kinds
from uploads.services.temporary import TemporaryAreaFile, file_chunks, write_temporary
from uploads.validation import check_size, clean_filename, sniff_type


def upload_precheck(file, *, kind: str) -> None:
    """Refuse now, with the pipeline's own reasons, what upload_create would refuse later.

    The admin saves inside a transaction where a refusal could no longer be shown on the form, so
    the content is checked while the form is cleaned: sniffed where the request streamed it (the
    temporary area), or written there, sniffed and removed again. upload_create checks it once more
    when the object is saved.
    """
    name = clean_filename(getattr(file, "name", "") or "")
    content_class = kinds.get(kind).content_class
    if isinstance(file, TemporaryAreaFile):
        check_size(file.size, settings.UPLOAD_MAX_SIZE)
        sniff_type(file.temporary_path, kind=content_class, filename=name)
        return
    temporary = write_temporary(file_chunks(file), max_size=settings.UPLOAD_MAX_SIZE)
    try:
        sniff_type(temporary.path, kind=content_class, filename=name)
    finally:
        temporary.path.unlink(missing_ok=True)


class PreviewFileInput(forms.FileInput):
    """A file input with what is stored now shown above it (set `preview` to safe HTML per form)."""

    preview = ""

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        if not self.preview:
            return field
        return format_html('<div class="tracked-file-preview">{}</div>{}', self.preview, field)


class TrackedFileField(forms.FileField):
    """A plain file field whose content is checked like a tracked upload of `kind` (image or document)."""

    widget = PreviewFileInput

    def __init__(self, *, kind: str, **kwargs) -> None:
        kwargs.setdefault("allow_empty_file", True)  # the pipeline says "The file is empty." itself
        super().__init__(**kwargs)
        self.kind = kind

    def clean(self, data, initial=None):
        file = super().clean(data, initial)
        if file:
            upload_precheck(file, kind=self.kind)
        return file
