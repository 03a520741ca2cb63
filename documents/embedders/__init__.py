"""Embedders turn text into the unit vectors stored in document_vectors.

`get_embedder()` returns the one the settings choose (EMBEDDING_PROVIDER), built once per process
and configuration; the local model loads on its first use.
"""

from __future__ import annotations

import threading

from django.conf import settings

from documents.embedders.base import Embedder, EmbedderError, EmbedderUnavailable

__all__ = ["Embedder", "EmbedderError", "EmbedderUnavailable", "get_embedder"]

_lock = threading.Lock()
_cache: dict[tuple, Embedder] = {}


def get_embedder(model: str | None = None) -> Embedder:
    """The configured embedder; `model` picks another model of the same provider (reembed --model)."""
    if settings.EMBEDDING_PROVIDER == "local":
        from documents.embedders import local

        if model not in (None, local.MODEL_NAME):
            raise EmbedderError(f"the local provider has one model, {local.MODEL_NAME!r}; not {model!r}")
        key: tuple = ("local", settings.EMBEDDING_BATCH_SIZE, settings.EMBEDDING_THREADS)
    else:
        api_model = (model or settings.EMBEDDING_MODEL).removeprefix("openai:")
        key = (
            "openai",
            settings.EMBEDDING_API_BASE,
            api_model,
            settings.EMBEDDING_API_KEY,
            settings.EMBEDDING_API_SEND_DIMENSIONS,
            settings.EMBEDDING_BATCH_SIZE,
            settings.EMBEDDING_API_CONNECT_TIMEOUT,
            settings.EMBEDDING_API_READ_TIMEOUT,
            settings.EMBEDDING_API_RETRIES,
            settings.EMBEDDING_API_BACKOFF,
        )
    with _lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _cache[key] = _build(key)
        return embedder


def _build(key: tuple) -> Embedder:
    if key[0] == "local":
        from documents.embedders.local import LocalOnnxEmbedder

        return LocalOnnxEmbedder(batch_size=key[1], threads=key[2])
    from documents.embedders.openai_http import OpenAIEmbedder
    from documents.models import EMBEDDING_DIMENSIONS

    _, base, api_model, api_key, send_dimensions, batch, connect, read, retries, backoff = key
    return OpenAIEmbedder(
        base_url=base,
        model=api_model,
        api_key=api_key,
        dimensions=EMBEDDING_DIMENSIONS,
        send_dimensions=send_dimensions,
        batch_size=batch,
        connect_timeout=connect,
        read_timeout=read,
        retries=retries,
        backoff=backoff,
    )
