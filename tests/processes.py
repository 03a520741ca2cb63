"""Running the project's manage.py as a real process, the way a deployment does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python manage.py *args` in the project root with exactly `env`; output captured as text, at most 120 s."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
