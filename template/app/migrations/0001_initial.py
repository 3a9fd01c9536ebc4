"""The app's first migration: no tables yet.

It gives `manage.py migrate` a starting point that every environment records in
django_migrations. Add models to app/models.py, then `python manage.py
makemigrations app` writes 0002 on top of this one. Keep each migration
backward compatible with the version still running (expand first, contract in
a later release).
"""

from collections.abc import Sequence
from typing import ClassVar

from django.db import migrations
from django.db.migrations.operations.base import Operation


class Migration(migrations.Migration):
    """Nothing to create: the service starts without models."""

    initial: ClassVar[bool | None] = True
    dependencies: ClassVar[Sequence[tuple[str, str]]] = []
    operations: ClassVar[Sequence[Operation]] = []
