"""Direct uploads: a 256 MiB file sent by the official JS client through the app's handleUpload route.

Three ways of getting the same bytes into the same local Vercel Blob server (its own process), run
interleaved, median of several rounds:
- raw: `put()` of @vercel/blob with the read-write token, multipart (the baseline);
- direct: `upload()` of @vercel/blob/client through POST /api/uploads/direct/vercel (token request,
  multipart upload to the store, the store's signed callback to the app);
- server path: POST /api/uploads/ with the file as multipart form data (the body goes through Django).
The app runs in one gunicorn worker whose CPU time (user + system) is read around each upload.
Tasks go to an in-memory broker no worker reads, so the figure is the web process's own work for
the request(s), not the promotion or the finishing that a Celery worker does in production.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import requests

from bench.common import Stats, Target, bench_env, emit_targets, gunicorn, manage, table, vercel_blob_process, workdir
from bench.memory import SETUP_SCRIPT, multipart

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024**2
TOKEN = "vercel_blob_rw_benchdirect_" + "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
JS = ROOT / "tests" / "uploads" / "direct" / "js_upload.mjs"
SPEED_TARGET = 0.9
CPU_TARGET = 0.05


def _node(api_url: str, spec: dict) -> float:
    env = {"PATH": "/usr/bin:/bin", "VERCEL_BLOB_API_URL": api_url, "VERCEL_BLOB_RETRIES": "0"}
    done = subprocess.run(["node", str(JS), json.dumps(spec)], cwd=ROOT, env=env, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"node upload failed: {result}")
    return result["seconds"]


def _cpu(worker) -> float:
    times = worker.cpu_times()
    return times.user + times.system


def measure(size_mib: int, runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"raw": [], "direct": [], "direct_cpu": [], "server": [], "server_cpu": []}
    with workdir() as work, vercel_blob_process(work, TOKEN) as (api_url, url_base):
        env = bench_env(
            work,
            UPLOAD_MAX_SIZE=str(size_mib * MiB + MiB),
            STORAGE_BACKEND="vercel",
            BLOB_READ_WRITE_TOKEN=TOKEN,
            VERCEL_BLOB_API_URL=api_url,
            VERCEL_BLOB_URL_BASE=url_base,
            CELERY_BROKER_URL="memory://localhost/",
        )
        manage(env, "migrate", "--noinput")
        token = manage(env, "shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1]
        user_id = (
            manage(
                env,
                "shell",
                "-c",
                f"from rest_framework.authtoken.models import Token;print(Token.objects.get(key='{token}').user_id)",
            )
            .strip()
            .splitlines()[-1]
        )
        big = work / "big.pdf"
        with big.open("wb") as handle:
            handle.write(b"%PDF-1.4\n")
            for _ in range(size_mib):
                handle.write(os.urandom(MiB))
            handle.truncate(size_mib * MiB)
        with gunicorn(env, threads=4) as (base, worker):
            for round_number in range(runs + 1):  # the first round warms up and is not counted
                key = f"b{round_number}{os.urandom(4).hex()}"
                raw_spec = {
                    "pathname": f"raw/{key}/big.pdf",
                    "file": str(big),
                    "large": True,
                    "multipart": True,
                    "rwToken": TOKEN,
                }
                direct_spec = {
                    "pathname": f"documents/{user_id}/{key}/big.pdf",
                    "file": str(big),
                    "large": True,
                    "multipart": True,
                    "handleUploadUrl": f"{base}/api/uploads/direct/vercel",
                    "apiToken": token,
                    "clientPayload": json.dumps({"kind": "document"}),
                }

                def direct_upload(spec=direct_spec) -> tuple[float, float]:
                    before = _cpu(worker)
                    seconds = _node(api_url, spec)
                    time.sleep(1.0)  # the store's callback reaches the app just after upload() returns
                    return seconds, _cpu(worker) - before

                # Alternate which goes first, so neither gains from the other's warm caches.
                if round_number % 2:
                    direct, direct_cpu = direct_upload()
                    raw = _node(api_url, raw_spec)
                else:
                    raw = _node(api_url, raw_spec)
                    direct, direct_cpu = direct_upload()
                before = _cpu(worker)
                started = time.perf_counter()
                body, content_type = multipart(size_mib * MiB, hashlib.sha256())
                response = requests.post(
                    f"{base}/api/uploads/",
                    data=body,
                    timeout=1800,
                    headers={"Authorization": f"Token {token}", "Content-Type": content_type},
                )
                response.raise_for_status()
                server = time.perf_counter() - started
                server_cpu = _cpu(worker) - before
                if round_number:
                    for name, value in (
                        ("raw", raw),
                        ("direct", direct),
                        ("direct_cpu", direct_cpu),
                        ("server", server),
                        ("server_cpu", server_cpu),
                    ):
                        results[name].append(value)
    return results


def run(size_mib: int, runs: int) -> str:
    r = measure(size_mib, runs)
    raw, direct = Stats.of([size_mib / s for s in r["raw"]]), Stats.of([size_mib / s for s in r["direct"]])
    ratio = direct.median / raw.median
    cpu_direct, cpu_server = Stats.of(r["direct_cpu"]), Stats.of(r["server_cpu"])
    cpu_ratio = cpu_direct.median / cpu_server.median
    targets = [
        Target(
            f"direct upload {size_mib} MiB (JS client through the route) vs raw put()",
            f"≥ {SPEED_TARGET}x",
            f"{ratio:.2f}x ({direct.median:.0f} vs {raw.median:.0f} MiB/s)",
            ratio >= SPEED_TARGET,
            f"{SPEED_TARGET - ratio:.2f}x",
        ),
        Target(
            f"Django CPU for a {size_mib} MiB direct upload vs the server path",
            f"≤ {CPU_TARGET:.0%}",
            f"{cpu_ratio:.1%} ({cpu_direct.median:.2f} s vs {cpu_server.median:.2f} s)",
            cpu_ratio <= CPU_TARGET,
            f"{cpu_ratio - CPU_TARGET:.1%}",
        ),
    ]
    emit_targets(targets)
    return (
        table(
            ["path", "throughput (median, range, runs)", "web worker CPU (median, range)"],
            [
                ["raw `put()` (read-write token)", raw.fmt(" MiB/s"), "—"],
                ["`upload()` through /api/uploads/direct/vercel", direct.fmt(" MiB/s"), cpu_direct.fmt(" s", 2)],
                [
                    "server path (POST /api/uploads/)",
                    Stats.of([size_mib / s for s in r["server"]]).fmt(" MiB/s"),
                    cpu_server.fmt(" s", 2),
                ],
            ],
        )
        + f"\n\n{size_mib} MiB, multipart (8 MiB parts), interleaved rounds. "
        + (__doc__ or "").split("\n\n", 1)[1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--runs", type=int, default=3, help="counted rounds (default 3)")
    args = parser.parse_args()
    print(run(args.size, args.runs))


if __name__ == "__main__":
    main()
