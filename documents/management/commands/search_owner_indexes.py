"""Build (and drop) the dedicated HNSW indexes of owners with many vectors (documents.services.owner_indexes)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from documents.services.owner_indexes import owner_index_create, owner_index_drop, owner_index_plan


class Command(BaseCommand):
    help = (
        "Give every owner with at least SEARCH_OWNER_INDEX_MIN_VECTORS vectors (and at most half of the table) "
        "a partial HNSW index of their own, built concurrently; drop the ones no longer wanted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-vectors", type=int, help="threshold (default SEARCH_OWNER_INDEX_MIN_VECTORS)")
        parser.add_argument("--dry-run", action="store_true", help="only say what would be built and dropped")
        parser.add_argument(
            "--maintenance-work-mem", default="1GB", help="for the builds (a graph that does not fit spills to disk)"
        )

    def handle(self, *args, min_vectors, dry_run, maintenance_work_mem, **options):
        threshold = settings.SEARCH_OWNER_INDEX_MIN_VECTORS if min_vectors is None else min_vectors
        if threshold <= 0:
            self.stdout.write("dedicated owner indexes are off (SEARCH_OWNER_INDEX_MIN_VECTORS=0)")
            return
        plan = owner_index_plan(min_vectors=threshold)
        for owner_id in plan.to_drop:
            self.stdout.write(f"drop owner {owner_id}" + (" (dry run)" if dry_run else ""))
            if not dry_run:
                owner_index_drop(owner_id)
        for owner_id in plan.to_create:
            self.stdout.write(
                f"build owner {owner_id} ({plan.wanted[owner_id]:,} vectors)" + (" (dry run)" if dry_run else "")
            )
            if not dry_run:
                started = time.monotonic()
                owner_index_create(owner_id, maintenance_work_mem=maintenance_work_mem)
                self.stdout.write(f"  built in {time.monotonic() - started:.1f} s")
        self.stdout.write(f"{len(plan.wanted)} owners with a dedicated index")
