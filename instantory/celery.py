"""The Celery app. Broker from CELERY_BROKER_URL; with none, tasks run eagerly (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instantory.settings")

app = Celery("instantory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
