"""Shared pieces of the benchmark suite: statistics, machine facts, servers, Markdown tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

# One owner of the loopback helpers for the test peers and the benchmarks (plain sockets, no pytest).
from tests.peers.net import free_port, wait_for_port
from tests.peers.s3 import NanioServer

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, unit: str = "", digits: int = 1) -> str:
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f} to {self.high:.{digits}f}, n={self.runs})"


TARGET_MARK = "@@target "


@dataclass(frozen=True)
class Target:
    """One target of issue #8 and how this run did against it; `why` explains a miss (Markdown)."""

    name: str
    goal: str
    measured: str
    met: bool
    shortfall: str = ""
    why: str = ""

    def verdict(self) -> str:
        return "met" if self.met else f"**missed** by {self.shortfall}"


def emit_targets(targets: Sequence[Target]) -> None:
    """Print the targets as marked JSON lines; bench.run collects them and strips them from the section."""
    for target in targets:
        print(TARGET_MARK + json.dumps(asdict(target)), flush=True)


def repeat(fn: Callable[[], float], runs: int, warmup: int = 0) -> Stats:
    for _ in range(warmup):
        fn()
    return Stats.of([fn() for _ in range(runs)])


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load_text() -> str:
    """The load average now (other engineers' work on a shared machine shows here)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min), {fifteen:.1f} (15 min)"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = psutil.virtual_memory().total / 1024**3
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB memory, Python {platform.python_version()}, {system}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bench_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Environment of a benchmark Django process: its own database, folders and secret, no .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "INSTANTORY_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "instantory.settings",
            "SECRET_KEY": "benchmark-only-secret-key-not-for-production",
            "DEBUG": "0",
            "EMBEDDED_DB_NAME": "instantory_bench",
            "LOCAL_STORAGE_ROOT": str(workdir / "media"),
            "TEMP_UPLOAD_ROOT": str(workdir / "tmp"),
            "STORAGE_BACKEND": "local",
            "LOG_LEVEL": "warning",
        }
    )
    env.update(extra)
    return env


def django_in_process(work: Path, **extra: str) -> None:
    """Migrate the benchmark database and set Django up in this process with the benchmark environment."""
    env = bench_env(work, **{"LOG_LEVEL": "error", **extra})
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()


@contextlib.contextmanager
def nanio(work: Path) -> Iterator[NanioServer]:
    """The S3 server of the tests (nanio, SigV4-checking) on a free port, data in `work`."""
    with NanioServer(data_dir=work / "nanio", log_path=work / "nanio.log") as server:
        yield server


@contextlib.contextmanager
def vercel_blob_process(work: Path, token: str) -> Iterator[tuple[str, str]]:
    """The project's Vercel Blob server in a process of its own; yields (API URL, content URL base).

    A separate process, not the in-process thread the tests use, so the server's work does not share
    the client's interpreter lock and a throughput figure measures the client alone.
    """
    port = free_port()
    log = (work / "vercel-blob.log").open("ab")
    proc = subprocess.Popen(
        [
            *(PYTHON, "manage.py", "vercel_blob_server", "--port", str(port)),
            *("--access", "public", "--data-dir", str(work / "vercel-blob")),
        ],
        cwd=ROOT,
        env=bench_env(work, BLOB_READ_WRITE_TOKEN=token),  # the environment, not argv: ps shows argv
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for_port(port, timeout=60)
        except RuntimeError:
            raise RuntimeError(
                f"the Vercel Blob server did not start:\n{(work / 'vercel-blob.log').read_text()}"
            ) from None
        origin = f"http://127.0.0.1:{port}"
        yield f"{origin}/api/blob", origin
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="instantory-bench-", dir=ROOT / ".data") as path:
        yield Path(path)


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], *, workers: int = 1, threads: int = 1, app: str = "instantory.wsgi"
) -> Iterator[tuple[str, psutil.Process]]:
    """Serve the app with gunicorn on a free port; yields (base URL, the worker process)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--timeout=600",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_port(port)
        children = psutil.Process(proc.pid).children()
        yield f"http://127.0.0.1:{port}", children[0] if children else psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peak_rss(process: psutil.Process) -> int:
    """The process's high-water mark of resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc status")
