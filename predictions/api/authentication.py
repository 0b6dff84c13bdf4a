from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from predictions import selectors
from predictions.models import ApiKey
from reviewapp.demo import DEMO_KEY_NAME, demo_enabled
from reviewapp.middleware import access_log_api_key_set

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.request import Request

KEYWORD = "Api-Key"
# last_used_at is a hint, not a log: write it at most once a minute per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`. request.user and request.auth are the ApiKey."""

    def authenticate(self, request: Request) -> tuple[ApiKey, ApiKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Api-Key header: expected 'Api-Key <key>'.")
        api_key = selectors.api_key_for_secret(secret=header[1].decode("latin-1"))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("API key expired.")
        if api_key.name == DEMO_KEY_NAME and not demo_enabled():
            raise exceptions.AuthenticationFailed("The demo API key works only in demo mode.")
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        access_log_api_key_set(request=request, name=api_key.name)
        return api_key, api_key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create one with `manage.py create_api_key NAME`.",
        }
