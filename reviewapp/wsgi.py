import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
application = get_wsgi_application()

# Each web process stores its request-latency histograms once a minute, for the monitoring
# page's latency over time (a thread of its own, off the request path).
from monitoring import recorder  # noqa: E402  (needs the apps loaded above)

recorder.start()
