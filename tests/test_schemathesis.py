"""The OpenAPI schema tells the truth: schemathesis, every check, against the live schema and server.

A fixed seed and a bounded number of examples per operation keep the run reproducible and well
under a minute; any failure (an undocumented status, a body that does not match its schema, input
accepted against the schema or refused within it, a 5xx) fails the suite with schemathesis' report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "14"
MAX_EXAMPLES = "4"


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(240)
def test_schemathesis_finds_no_failure(live_server, celery_broker, user, tmp_path):
    # Tasks go to a real broker that no worker reads: the API's answers are under test, not the
    # promotion and text processing every accepted file would otherwise run inside its request.
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is not installed (requirements-dev.txt)"
    result = subprocess.run(
        [
            binary,
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{live_server.url}/api/schema/",
            "--seed",
            SEED,
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "1",
            "--header",
            f"Authorization: Token {token.key}",
            "--request-timeout",
            "30",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
