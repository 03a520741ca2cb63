from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tools: the local Vercel Blob server, the embedded PostgreSQL, ensure_superuser.

    Installed for their management commands; no production module imports them.
    """

    name = "devtools"
    verbose_name = "Development tools"
