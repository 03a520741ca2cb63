"""Scrub: every copy of every stored file read back (streamed) and checked against the recorded SHA-256.

For each stored file, its home copy and each replica (storage_app.replication) are read in full and
their size and SHA-256 compared with the location record. A copy that is missing (deleted behind the
app's back) or different (corrupted) is reported; with `repair`, it is rewritten from a copy that
just passed:
- a bad replica is marked `bad` (reads skip it) and copied again (replication.replica_copy);
- a bad home copy hands the home to a good replica first (locations.location_promote_replica), so
  readers get good bytes at once, then the old home is repaired as a replica.
A copy whose backend cannot be read now is `unchecked`, not repaired. A copy still being made
(`copying`) is the replication's business and is skipped. `ok` is False when anything stays bad or
unchecked: the command's exit code is then non-zero.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from storage_app import locations
from storage_app.exceptions import StorageError
from storage_app.fallback import FallbackStorage, default_fallback_storage
from storage_app.models import ReplicaState, StoredFile, StoredFileState
from storage_app.replication import copy_sha256, replica_copy

logger = logging.getLogger(__name__)


@dataclass
class ScrubReport:
    repair: bool = False
    files: int = 0
    copies_checked: int = 0
    missing: list[str] = field(default_factory=list)  # "name on alias"
    corrupt: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    unrepaired: dict[str, str] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        bad = len(self.missing) + len(self.corrupt)
        return not self.unchecked and not self.unrepaired and len(self.repaired) == bad

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        return (
            f"scrubbed {self.files} file(s), {self.copies_checked} cop(ies): {len(self.missing)} missing, "
            f"{len(self.corrupt)} corrupt, {len(self.repaired)} repaired, {len(self.unrepaired)} not repaired, "
            f"{len(self.unchecked)} unchecked (backend unreachable)"
        )


def storage_scrub(
    *,
    storage: FallbackStorage | None = None,
    sample: int | None = None,
    repair: bool = False,
    on_plan: Callable[[int], None] | None = None,
    on_file: Callable[[str, str], None] | None = None,
) -> ScrubReport:
    """Check every stored file (a random `sample` of them when given), repairing bad copies when `repair`."""
    storage = storage or default_fallback_storage()
    report = ScrubReport(repair=repair)
    ids = list(StoredFile.objects.filter(state=StoredFileState.STORED).order_by("pk").values_list("pk", flat=True))
    if sample is not None and sample < len(ids):
        ids = sorted(random.sample(ids, sample))
    if on_plan:
        on_plan(len(ids))
    for record_id in ids:
        record = StoredFile.objects.filter(pk=record_id, state=StoredFileState.STORED).first()
        if record is None:
            continue
        report.files += 1
        outcome = _scrub_file(storage, record, report, repair=repair)
        if on_file:
            on_file(record.name, outcome)
    return report


def _scrub_file(storage: FallbackStorage, record: StoredFile, report: ScrubReport, *, repair: bool) -> str:
    good: list[str] = []
    bad: dict[str, str] = {}  # alias → "missing" | "corrupt"
    for alias, state in locations.location_copies(record).items():
        if state == ReplicaState.COPYING:
            continue
        where = f"{record.name} on {alias}"
        backend = storage.backend_or_none(alias)
        if backend is None:
            report.unchecked[where] = f"{alias} is not configured in this process"
            continue
        try:
            size, checksum = copy_sha256(backend, record.name)
        except FileNotFoundError:
            bad[alias] = "missing"
            report.missing.append(where)
            continue
        except (StorageError, OSError) as exc:
            report.unchecked[where] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            report.copies_checked += 1
        if size != record.size or checksum != record.checksum:
            bad[alias] = "corrupt"
            report.corrupt.append(where)
        else:
            good.append(alias)
    if not bad:
        return "ok"
    for alias, problem in bad.items():
        logger.warning("scrub: %s on %s is %s", record.name, alias, problem)
        if alias != record.backend:
            locations.replica_mark_bad(record, alias, f"scrub: {problem}")
    if not repair:
        return "bad"
    return _repair(storage, record, bad, good, report)


def _repair(
    storage: FallbackStorage, record: StoredFile, bad: dict[str, str], good: list[str], report: ScrubReport
) -> str:
    if not good:
        for alias in bad:
            report.unrepaired[f"{record.name} on {alias}"] = "no good copy to repair from"
        return "unrepaired"
    if record.backend in bad:
        promoted = locations.location_promote_replica(record, good[0])
        if promoted is None:
            report.unrepaired[f"{record.name} on {record.backend}"] = (
                "changed meanwhile; the next scrub checks it again"
            )
            return "unrepaired"
        record = promoted
    source = storage.backend(good[0])
    outcome = "repaired"
    for alias in bad:
        where = f"{record.name} on {alias}"
        try:
            if replica_copy(storage, record, storage.backend(alias), source=source):
                report.repaired.append(where)
            else:
                report.unrepaired[where] = "deleted meanwhile"
        except Exception as exc:
            report.unrepaired[where] = f"{type(exc).__name__}: {exc}"
            outcome = "unrepaired"
    return outcome
