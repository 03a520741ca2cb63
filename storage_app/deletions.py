"""Deferred deletes: the one retry path of the storage library's delete ledger.

FallbackStorage.delete marks a file's StoredFile record `deleting` (it is gone for readers from
then on) and deletes its objects. An object on a backend that is down (or refused the delete)
keeps the record, which counts the failed attempt, keeps the error and is due again after the
DELETE_RETRY backoff (storage_app.backoff: 60 s, doubled per failure, at most 6 hours). The record
is the ledger: nothing else needs to remember the delete, and a name stays taken until every
object under it is gone.

`deletions_retry` purges the records that are due. It is called from two places, which share
this path and the records' schedule:

- the upload pipeline's sweep (`sweep_uploads`, every UPLOAD_SWEEP_INTERVAL seconds, 300 by
  default): the due records, whatever the state of the primary; this is the schedule the backoff
  is kept on;
- reconcile (`reconcile_storage`, its periodic task and command), which runs only once the primary
  passes its probe, finishes every deleting record at once, due or not, as it finishes all other
  interrupted work (`due_only=False`).

Records are claimed before they are purged (locations.locations_claim_deleting), so the two never
purge the same record at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from storage_app import locations
from storage_app.fallback import FallbackStorage, default_fallback_storage

logger = logging.getLogger(__name__)

RETRY_BATCH = 500


@dataclass
class DeletionsReport:
    finished: list[str] = field(default_factory=list)  # every object gone, record forgotten
    pending: list[str] = field(default_factory=list)  # a backend still holds an object: retried later

    def as_dict(self) -> dict:
        return asdict(self)


def deletions_retry(
    *, storage: FallbackStorage | None = None, limit: int | None = RETRY_BATCH, due_only: bool = True
) -> DeletionsReport:
    """Purge the deleting records that are due (every one when not `due_only`), at most `limit`."""
    storage = storage or default_fallback_storage()
    report = DeletionsReport()
    for record in locations.locations_claim_deleting(limit=limit, due_only=due_only):
        try:
            remaining = storage.purge(record)
        except Exception as exc:  # a refusal: the record already counts it and is scheduled again
            logger.warning("delete of %s still failing (attempt %d): %s", record.name, record.attempts, exc)
            remaining = [record.backend]
        (report.pending if remaining else report.finished).append(record.name)
    return report
