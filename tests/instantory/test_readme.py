"""The README's configuration table names every environment variable settings.py reads."""

import asyncio
import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
# env_str("NAME", ...), env_optional("NAME", "ALIAS"), ...: every quoted upper-case name in an env_* call.
ENV_CALL = re.compile(r"\benv_[a-z_]+\(([^)]*)\)")
NAME = re.compile(r'"([A-Z][A-Z0-9_]+)"')


def variables_read_by_settings() -> set[str]:
    source = (ROOT / "instantory" / "settings.py").read_text()
    return {name for call in ENV_CALL.findall(source) for name in NAME.findall(call)}


def test_settings_reads_variables_at_all():
    # Guards the pattern itself: a regex that matched nothing would make the next test pass vacuously.
    assert {"SECRET_KEY", "DATABASE_URL", "STORAGE_BACKEND", "EMBEDDING_PROVIDER"} <= variables_read_by_settings()


def test_every_variable_is_in_the_readme_table():
    table = "\n".join(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `"))
    missing = sorted(name for name in variables_read_by_settings() if f"`{name}`" not in table)
    assert missing == [], f"README configuration table lacks: {', '.join(missing)}"


def python_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Files from Python: `storage_manager`", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_the_storage_manager_example_runs(django_user_model, capsys):
    # The example runs as written (asyncio.run, as `manage.py shell < example.py` would), against a user "admin".
    django_user_model.objects.create_user(username="admin", password="unused-here")
    try:
        exec(compile(python_example(), "README.md", "exec"), {"__name__": "__main__"})  # noqa: S102 - our own README
    finally:
        # The ORM ran in asgiref's thread for sync_to_async: close that thread's connection too.
        asyncio.run(sync_to_async(connections.close_all)())
    out = capsys.readouterr().out
    assert "stored at /files/local/users/" in out
    assert "b'Teak bowls: 12 in stock\\n'" in out
    assert "deleted: True" in out
