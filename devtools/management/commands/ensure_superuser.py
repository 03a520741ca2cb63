"""Create the first staff user from DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL, once."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create a superuser from DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD when both are set "
        "and no user of that name exists; otherwise do nothing."
    )

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not username:
            self.stdout.write(
                "No staff user requested. To create one: DJANGO_SUPERUSER_USERNAME=admin "
                "DJANGO_SUPERUSER_PASSWORD=... make run  (or: .venv/bin/python manage.py createsuperuser)"
            )
            return
        if not password:
            raise CommandError("DJANGO_SUPERUSER_USERNAME is set but DJANGO_SUPERUSER_PASSWORD is empty")
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Staff user {username!r} already exists.")
            return
        user_model.objects.create_superuser(
            username=username, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password=password
        )
        self.stdout.write(self.style.SUCCESS(f"Created staff user {username!r}."))
