"""An OpenAI-compatible `/embeddings` endpoint over HTTP (OpenAI itself, or any server speaking its API).

Texts go in batches; each batch is retried with exponential backoff on network errors, timeouts,
429 and 5xx (a Retry-After the server sends is honoured, capped). Other 4xx are configuration
errors and are not retried. The API key is sent in the Authorization header only and never
appears in a log line or an error message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from documents.embedders.base import Embedder, EmbedderError, EmbedderUnavailable, normalised

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 30.0
MAX_BACKOFF = 20.0
ERROR_BODY_CHARS = 300


class _Retriable(EmbedderUnavailable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAIEmbedder(Embedder):
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        dimensions: int,
        send_dimensions: bool = True,
        batch_size: int = 32,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.url = base_url.rstrip("/") + "/embeddings"
        self.api_model = model
        # The provider is part of the name: the same model id served elsewhere is another vector space.
        self.model_name = f"openai:{model}"
        self.dimensions = dimensions
        self.send_dimensions = send_dimensions
        self.batch_size = batch_size
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        self._api_key = api_key
        self._local = threading.local()  # one requests.Session per thread

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(url={self.url!r}, model={self.api_model!r})"  # never the key

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Content-Type"] = "application/json"
            if self._api_key:
                session.headers["Authorization"] = f"Bearer {self._api_key}"
            self._local.session = session
        return session

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batches = [list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate([self._embed_batch(batch) for batch in batches])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retriable),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._request(texts)
        except _Retriable as exc:
            raise EmbedderUnavailable(f"embedding service failed after {self.retries + 1} attempts: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return min(self.backoff * 2 ** (state.attempt_number - 1), MAX_BACKOFF)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning("embedding request to %s failed (attempt %s), retrying: %s", self.url, state.attempt_number, exc)

    def _request(self, texts: list[str]) -> np.ndarray:
        payload: dict = {"model": self.api_model, "input": texts, "encoding_format": "float"}
        if self.send_dimensions:
            payload["dimensions"] = self.dimensions
        try:
            response = self._session().post(self.url, json=payload, timeout=self.timeout)
        except requests.Timeout:
            raise _Retriable(f"no answer from {self.url} within {self.timeout[1]} s") from None
        except requests.ConnectionError as exc:
            raise _Retriable(f"cannot connect to {self.url}: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retriable(
                f"{self.url} answered {response.status_code}: {_error_text(response)}",
                retry_after=_retry_after(response),
            )
        if response.status_code != 200:
            raise EmbedderError(f"{self.url} refused the request with {response.status_code}: {_error_text(response)}")
        return self._vectors(response, len(texts))

    def _vectors(self, response: requests.Response, expected: int) -> np.ndarray:
        try:
            items = response.json()["data"]
            items = sorted(items, key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(f"{self.url} sent a reply that is not an embeddings list: {exc!r}") from None
        if vectors.ndim != 2 or vectors.shape[0] != expected:
            raise EmbedderError(f"{self.url} sent {len(items)} vectors for {expected} texts")
        if vectors.shape[1] != self.dimensions:
            raise EmbedderError(
                f"{self.url} sent {vectors.shape[1]}-dimension vectors; document_vectors holds {self.dimensions}: "
                "choose a model that can answer with that size (EMBEDDING_MODEL)"
            )
        if not np.isfinite(vectors).all() or not np.linalg.norm(vectors, axis=1).all():
            raise EmbedderError(f"{self.url} sent a zero or non-finite vector")
        return normalised(vectors)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _error_text(response: requests.Response) -> str:
    try:
        error = response.json().get("error")
        text = error.get("message") if isinstance(error, dict) else str(error or "")
    except (ValueError, AttributeError):
        text = response.text
    return " ".join((text or response.reason or "").split())[:ERROR_BODY_CHARS]
