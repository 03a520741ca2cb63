"""VECTOR_DATABASE_URL / NEON_DATABASE_URL: document_vectors in a second real PostgreSQL database.

The checks in vector_db/two_databases.py run in a pytest subprocess whose settings have the second
database (Django creates test databases from the settings a process starts with). The second
database lives on the same server as the main one (the embedded server, or DATABASE_URL's).
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "tests/documents/vector_db/two_databases.py"


def second_database_url(name: str) -> str:
    connection.ensure_connection()
    db = connection.settings_dict
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    if host.startswith("/"):  # a unix socket folder goes in the query string
        return f"postgresql://{db['USER']}{password}@/{name}?host={quote(host)}&port={db.get('PORT') or 5432}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{db['USER']}{password}@{host}{port}/{name}"


def child_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO_SETTINGS")) and k not in {"VECTOR_DATABASE_URL", "NEON_DATABASE_URL"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "instantory.settings_test"
    env.update(extra)
    return env


@pytest.mark.django_db
def test_vectors_documents_and_deletes_across_two_real_databases():
    url = second_database_url(f"instantory_vectors_{os.getpid()}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", CHECKS, "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"],
        cwd=ROOT,
        env=child_env(VECTOR_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"(\d+) passed", output)
    assert passed, output
    assert int(passed.group(1)) == 8, output


def test_neon_database_url_is_read_when_vector_database_url_is_not_set():
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from documents.routers import vector_db_alias; "
        "print(settings.DATABASES['vectors']['NAME'], vector_db_alias())"
    )
    neon = "postgresql://neon:secret@ep-example.eu-central-1.aws.neon.tech:5432/vectors_db?sslmode=require"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=child_env(NEON_DATABASE_URL=neon), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["vectors_db", "vectors"]
    result = subprocess.run(
        [sys.executable, "-c", script.replace("settings.DATABASES['vectors']['NAME']", "list(settings.DATABASES)")],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["['default']", "default"]


@pytest.mark.django_db
def test_the_release_step_says_when_there_is_no_vector_database():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("migrate_vectors", "--noinput", stdout=out)
    assert "no separate vector database is configured" in out.getvalue()
