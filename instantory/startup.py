"""Turns a configuration error into one line on stderr and exit status 1."""

import os
import sys


def load_settings_or_exit(settings_module: str = "instantory.settings") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"instantory: configuration error: {exc}\n")
        sys.exit(1)
