from django.core.wsgi import get_wsgi_application

from instantory.startup import load_settings_or_exit

load_settings_or_exit()
application = get_wsgi_application()


def _storage_startup_check() -> None:
    # Each web process says at start which storage backend is misconfigured (missing bucket, refused
    # credentials), in the background so serving is not held up.
    import threading

    from django.conf import settings

    from storage_app.health import warn_if_misconfigured

    if settings.STORAGE_STARTUP_CHECK:
        threading.Thread(target=warn_if_misconfigured, name="storage-startup-check", daemon=True).start()


_storage_startup_check()
