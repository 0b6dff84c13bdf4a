"""Signals the project sends, so apps can join in without the project importing them."""

from django.dispatch import Signal

# Sent once by reviewapp/wsgi.py in each web process (a web server's worker, runserver) once the
# application is built; never in a Celery worker or a management command.
web_process_started = Signal()
