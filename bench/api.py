"""Requests per second of the inventory list endpoint with 1,000 items, and SQL queries per request.

gunicorn serves the app (2 workers, the machine has 2 cores); wrk, a C load generator from
Debian, sends the requests over loopback. The query count comes from Django's own
CaptureQueriesContext around one request per page size.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess

from bench.common import bench_env, gunicorn, manage, table, workdir

ITEMS = 1000

SETUP_SCRIPT = f"""
import json
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from inventory.models import InventoryItem
user, _ = get_user_model().objects.get_or_create(username="bench-api")
InventoryItem.objects.filter(owner=user).delete()
InventoryItem.objects.bulk_create(
    InventoryItem(owner=user, name=f"Item {{i}}", category=["Beads", "Stools", "Bowls", "Fans"][i % 4],
                  description="Hand-made, fair trade.", tags=["bench", f"t{{i % 10}}"])
    for i in range({ITEMS})
)
token = Token.objects.get_or_create(user=user)[0].key
client = Client(HTTP_AUTHORIZATION=f"Token {{token}}")
queries = {{}}
for size in (1, 25, 100):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/inventory/", {{"page_size": size}})
    assert response.status_code == 200, response.content[:500]
    queries[size] = len(captured)
print(json.dumps({{"token": token, "queries": queries}}))
"""


def wrk(url: str, token: str, seconds: int, connections: int) -> float:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does this)")
    result = subprocess.run(
        [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Authorization: Token {token}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed responses under load:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def run(seconds: int, runs: int) -> str:
    from bench.common import Stats

    with workdir() as work:
        env = bench_env(work, ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
        manage(env, "migrate", "--noinput")
        setup = json.loads(manage(env, "shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1])
        rows = []
        with gunicorn(env, workers=2) as (base, _worker):
            for size in (25, 100):
                url = f"{base}/api/inventory/?page_size={size}"
                wrk(url, setup["token"], 2, 4)  # warm-up
                stats = Stats.of([wrk(url, setup["token"], seconds, 8) for _ in range(runs)])
                rows.append([size, stats.fmt(" req/s", 0), setup["queries"][str(size)]])
    return (
        table(["page size", "requests per second (8 connections)", "SQL queries per request"], rows)
        + f"\n\nQueries for a page of 1 item: {setup['queries']['1']} (constant whatever the page size)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(run(args.seconds, args.runs))


if __name__ == "__main__":
    main()
