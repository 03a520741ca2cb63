"""Routes document_vectors to the vector database when VECTOR_DATABASE_URL / NEON_DATABASE_URL is set."""

from django.conf import settings

VECTOR_DB = "vectors"
VECTOR_MODELS = {"documentvector"}


def vector_db_alias() -> str:
    return VECTOR_DB if VECTOR_DB in settings.DATABASES else "default"


class VectorRouter:
    def _is_vector(self, model) -> bool:
        return model._meta.app_label == "documents" and model._meta.model_name in VECTOR_MODELS

    def db_for_read(self, model, **hints):
        return vector_db_alias() if self._is_vector(model) else None

    def db_for_write(self, model, **hints):
        return vector_db_alias() if self._is_vector(model) else None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if VECTOR_DB not in settings.DATABASES:
            return None
        is_vector = app_label == "documents" and model_name in VECTOR_MODELS
        if db == VECTOR_DB:
            # model_name is None for operations on no model, such as CREATE EXTENSION vector,
            # which both databases need.
            return is_vector or (app_label == "documents" and model_name is None)
        if is_vector:
            return False
        return None
