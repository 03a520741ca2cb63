"""The Celery app as instantory.celery builds it, except that documents are not processed after their upload.

For bench.clients' end-to-end rows: the worker promotes uploads into storage as in production, but
the text extraction and embedding of each benchmark document (a job that reads the whole file
again) would keep the one worker busy between uploads; leaving it out makes the figure the file's
path alone, as bench/wsgi_without_processing.py does for the web process.
"""

import django

from instantory.celery import app

django.setup()


def _not_queued(*args, **kwargs) -> None:
    return None


def _leave_out_processing() -> None:
    from documents import tasks  # after django.setup(): it needs the app registry

    tasks.document_process_task.delay = _not_queued


_leave_out_processing()

__all__ = ["app"]
