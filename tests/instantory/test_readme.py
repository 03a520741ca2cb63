"""The README's configuration table names every environment variable settings.py reads."""

import re
from pathlib import Path

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
