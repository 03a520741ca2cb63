"""`python manage.py vercel_blob_server`, run as a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "vercel_blob_rw_cmdstore9_s3cr3tV4lueNeverPrinted"


def command(*args: str, env_token: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.pop("BLOB_READ_WRITE_TOKEN", None)
    if env_token:
        env["BLOB_READ_WRITE_TOKEN"] = env_token
    return subprocess.Popen(
        [sys.executable, "manage.py", "vercel_blob_server", "--settings", "instantory.settings_test", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"no {pattern!r} in output:\n{seen}")


def test_serves_the_api_and_content_until_terminated(tmp_path):
    proc = command("--port", "0", "--token", TOKEN, "--access", "public", "--data-dir", str(tmp_path))
    try:
        output = read_until(proc, r"Press Ctrl-C")
        api_url = re.search(r"VERCEL_BLOB_API_URL=(\S+)", output).group(1)
        url_base = re.search(r"VERCEL_BLOB_URL_BASE=(\S+)", output).group(1)
        assert api_url == f"{url_base}/api/blob"
        assert "cmdstore9" in output
        assert "s3cr3t" not in output  # the token is never printed
        response = requests.put(
            api_url + "/",
            params={"pathname": "from-cli.txt"},
            data=b"cli",
            headers={"authorization": f"Bearer {TOKEN}", "x-vercel-blob-access": "public"},
            timeout=10,
        )
        assert response.json()["url"] == f"{url_base}/from-cli.txt"
        assert requests.get(f"{url_base}/from-cli.txt", timeout=10).content == b"cli"
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped" in rest
    assert any(path.suffix == ".bin" for path in (tmp_path / "blobs").iterdir())


def test_the_token_defaults_to_the_setting(tmp_path):
    proc = command("--port", "0", "--access", "private", env_token=TOKEN)
    try:
        output = read_until(proc, r"Press Ctrl-C")
        assert "(private)" in output
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_no_token_is_a_clear_error():
    proc = command("--port", "0")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "pass --token" in output


def test_a_malformed_token_is_refused_without_echoing_it():
    proc = command("--port", "0", "--token", "not-a-valid-token-zz9")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "vercel_blob_rw_<storeId>_<secret>" in output
    assert "zz9" not in output
