import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
application = get_wsgi_application()

# Apps start what each web process runs beside its requests (the monitoring app: its latency
# recorder thread). Only here: Celery workers and management commands never load this module.
from reviewapp.signals import web_process_started  # noqa: E402  (needs the apps loaded above)

web_process_started.send(sender=None)
