"""WSGI entry point: gunicorn serves `app.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

from app.config import get_settings
from app.metrics import set_probe_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")

application = get_wsgi_application()
set_probe_logging(get_settings().log_probes)
