"""Re-embed document chunks after the embedding model changes, with a progress bar."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.management import add_no_progress_argument
from documents.embedders import EmbedderError, get_embedder
from documents.models import Document
from documents.services.processing import document_process
from documents.services.reembedding import document_reembed, documents_needing_reembed
from documents.services.vectors import vectors_orphaned_delete, vectors_other_models_delete


class Command(BaseCommand):
    help = (
        "Embed the stored chunks of every document again with the configured model (or --model), replacing "
        "each document's vectors in one transaction. Documents already embedded with that model are skipped, so "
        "an interrupted run can simply be started again. Search only ever compares vectors of one model."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            help="Model to embed with (default: the configured one). Another model than the configured one keeps "
            "the current vectors, so search goes on working until EMBEDDING_MODEL is switched.",
        )
        parser.add_argument("--document", type=int, action="append", dest="documents", help="Only this document id.")
        parser.add_argument("--force", action="store_true", help="Also re-embed documents that already have it.")
        parser.add_argument("--keep-other-models", action="store_true", help="Keep vectors of other models.")
        parser.add_argument(
            "--reextract",
            action="store_true",
            help="Read, extract and chunk the stored files again (after changing the chunk settings).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Finally delete vectors of models other than the configured one and vectors of deleted documents.",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Send one task per document to the Celery workers instead of embedding here: every worker "
            "(machine) embeds its share, so the rate grows with the workers. Run the command again to see what "
            "is left (documents done are skipped).",
        )
        add_no_progress_argument(parser, "No progress bar (for logs).")

    def handle(
        self, *args, model, documents, force, keep_other_models, reextract, prune, queue, no_progress, **options
    ):
        try:
            configured = get_embedder()
            embedder = get_embedder(model) if model else configured
        except EmbedderError as exc:
            raise CommandError(str(exc)) from None
        if embedder.model_name != configured.model_name:
            keep_other_models = True
            self.stdout.write(
                f"{embedder.model_name} is not the configured model ({configured.model_name}): vectors of other "
                "models are kept, and search uses the new ones once EMBEDDING_MODEL is switched."
            )
        if reextract:
            self._reextract(documents, embedder, no_progress)
        elif queue:
            self._queue(documents, embedder, model, force, keep_other_models)
        else:
            self._reembed(documents, embedder, force, keep_other_models, no_progress)
        if prune:
            orphans = vectors_orphaned_delete()
            others = vectors_other_models_delete(model_name=configured.model_name)
            self.stdout.write(f"pruned {others} vectors of other models and {orphans} of deleted documents")

    def _reembed(self, documents, embedder, force, keep_other_models, no_progress) -> None:
        ids = documents_needing_reembed(model_name=embedder.model_name, force=force, document_ids=documents)
        total = 0
        started = time.monotonic()
        with tqdm(ids, desc=f"re-embedding ({embedder.model_name})", unit="doc", disable=no_progress) as bar:
            for document_id in bar:
                try:
                    total += document_reembed(
                        document_id=document_id, embedder=embedder, keep_other_models=keep_other_models
                    )
                except EmbedderError as exc:
                    raise CommandError(
                        f"stopped at document {document_id}: {exc}. Run the command again to continue."
                    ) from None
                bar.set_postfix(chunks=total, chunks_per_s=f"{_rate(total, started):.1f}")
        self.stdout.write(
            f"re-embedded {len(ids)} documents ({total} chunks, {_rate(total, started):.1f} chunks/s) "
            f"with {embedder.model_name}"
        )

    def _queue(self, documents, embedder, model, force, keep_other_models) -> None:
        from documents.tasks import document_reembed_task

        ids = documents_needing_reembed(model_name=embedder.model_name, force=force, document_ids=documents)
        for document_id in ids:
            document_reembed_task.delay(document_id, model=model, keep_other_models=keep_other_models)
        self.stdout.write(f"queued {len(ids)} documents for re-embedding with {embedder.model_name} on the workers")

    def _reextract(self, documents, embedder, no_progress) -> None:
        queryset = Document.objects.exclude(file="").order_by("pk")
        if documents:
            queryset = queryset.filter(pk__in=documents)
        ids = list(queryset.values_list("pk", flat=True))
        outcomes: dict[str, int] = {}
        with tqdm(ids, desc=f"processing ({embedder.model_name})", unit="doc", disable=no_progress) as bar:
            for document_id in bar:
                try:
                    status = document_process(document_id=document_id, embedder=embedder).status
                except Exception as exc:  # one document's failure is reported, the rest go on
                    status = "error"
                    self.stderr.write(f"document {document_id}: {exc}")
                outcomes[status] = outcomes.get(status, 0) + 1
                bar.set_postfix(outcomes)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items())) or "nothing to do"
        self.stdout.write(f"processed {len(ids)} documents: {summary}")


def _rate(count: int, started: float) -> float:
    """Chunks per second since `started` (monotonic clock): the figure to size a re-embedding by."""
    return count / max(time.monotonic() - started, 1e-6)
