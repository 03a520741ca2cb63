"""The app as instantory.wsgi serves it, except that documents are not processed after their upload.

For bench.memory: with no broker the embedded default runs Celery tasks inside the web process, so
the text extraction and embedding of a document would run in the worker being measured. In
production that is a job of the Celery worker, not of the web process; leaving it out makes the
figure the file's path alone (upload, promotion into storage, download).
"""

from instantory.wsgi import application


def _not_queued(*args, **kwargs) -> None:
    return None


def _leave_out_processing() -> None:
    from documents import tasks  # after the app above: it needs the app registry

    tasks.document_process_task.delay = _not_queued


_leave_out_processing()

__all__ = ["application"]
