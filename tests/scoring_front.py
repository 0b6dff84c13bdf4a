"""Django's test client, served as the web server serves the app: through the scoring front.

`reviewapp.wsgi.application` is `ScoringFront(<Django's handler>)`: scoring requests with an
API key are answered before Django's handler (predictions/api/fast.py). Django's test client
calls its own handler directly, so tests would never meet the front; `through_the_front`
puts it before the test client's handler, for every test (tests/conftest.py), so a test that
posts a prediction gets what an upstream system gets.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test.client import ClientHandler

from predictions.api.fast import ScoringFront

_django_test_handler = ClientHandler.__call__


def through_the_front(handler: ClientHandler, environ: dict[str, Any]) -> HttpResponseBase:
    """ClientHandler.__call__ with the scoring front before it; returns the response the client reads."""
    answered_by_django: list[HttpResponseBase] = []

    def django(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        answered_by_django.append(_django_test_handler(handler, environ))
        return []

    front = ScoringFront(django)
    # The test's transaction stays open across requests, as Django's test client keeps it.
    front.connections_tidy = lambda: None
    started: dict[str, Any] = {}
    body = front(
        environ, lambda status, headers, exc_info=None: started.update(status=status, headers=headers)
    )
    if answered_by_django:
        return answered_by_django[0]
    response = HttpResponse(b"".join(body), status=int(started["status"].split(" ", 1)[0]))
    for name in list(response.headers):  # only what the front sent
        del response[name]
    for name, value in started["headers"]:
        response[name] = value
    response.wsgi_request = WSGIRequest(environ)  # type: ignore[attr-defined]  # the client reads it
    return response
