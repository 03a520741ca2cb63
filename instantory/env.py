"""Every environment variable Instantory reads, parsed and validated in one place.

settings.py is the only caller. Each helper raises ImproperlyConfigured with a single line that
names the variable and what it accepts, so a bad deployment stops at start-up, not at first use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A developer's .env (written by `make run`) is read unless the test settings ask not to, so a
# local override never leaks into the test run.
if os.environ.get("INSTANTORY_IGNORE_DOTENV") != "1" and (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_optional(*names: str) -> str | None:
    """The first of `names` that is set to a non-empty value, or None."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; allowed values: 1, 0, true, false, yes, no, on, off")


def env_choice(name: str, choices: Sequence[str], default: str) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not valid; allowed values: {', '.join(choices)}")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    _check_range(name, raw, value, minimum, maximum)
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    _check_range(name, raw, value, minimum, None)
    return value


def env_size(name: str, default: int, *, minimum: int = 1) -> int:
    """A byte size: a plain number of bytes or a number with a unit (`512KiB`, `100MB`, `1GiB`)."""
    raw = env_str(name)
    if not raw:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", raw)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a size; use bytes or a number with KB, KiB, MB, MiB, GB or GiB"
        )
    value = int(float(match.group(1)) * _SIZE_UNITS[unit])
    _check_range(name, raw, value, minimum, None)
    return value


def env_list(name: str, default: Sequence[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str | None = None, *, schemes: Sequence[str] = ("http", "https")) -> str | None:
    value = env_optional(name) or default
    if value is None:
        return None
    if not re.match(rf"^({'|'.join(schemes)})://[^\s/]+", value):
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value.rstrip("/")


def env_database_url(*names: str) -> dict | None:
    """Django DATABASES entry from the first set URL variable; never echoes the URL (it holds a password)."""
    for name in names:
        raw = env_optional(name)
        if not raw:
            continue
        if not re.match(r"^postgres(ql)?://", raw):
            raise ImproperlyConfigured(f"{name} must be a postgres:// or postgresql:// URL")
        try:
            return env.db_url_config(raw)
        except Exception:
            raise ImproperlyConfigured(f"{name} is not a valid database URL") from None
    return None


def _check_range(name: str, raw: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} is too small; the minimum is {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} is too large; the maximum is {maximum}")
