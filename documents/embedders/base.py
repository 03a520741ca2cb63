"""What every embedder offers: unit-length vectors of one fixed size, tagged with a stable model name.

Vectors are L2-normalised, so cosine distance in PostgreSQL (`<=>`) ranks them correctly and two
embedders never need to agree on anything but `dimensions`. The model name is stored with each
vector; search compares a query only with vectors of the same name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class EmbedderError(Exception):
    """Texts could not be embedded, for a reason that retrying will not fix (bad configuration, bad reply)."""


class EmbedderUnavailable(EmbedderError):
    """The embedder could not be reached or kept failing; a later retry may succeed."""


class Embedder(ABC):
    model_name: str
    dimensions: int

    @abstractmethod
    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, as a float32 array of shape (len(texts), dimensions)."""

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a search query; models that embed queries differently override this."""
        return self.embed_documents([text])[0]


def normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)
