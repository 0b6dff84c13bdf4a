"""The shadowing and comparison API's input and output."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from lifecycle.models import ShadowPeriod


class ShadowStartSerializer(serializers.Serializer):
    backfill_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        help_text="Also score the predictions of the last N days, so the comparison has figures at once",
    )


class ShadowPeriodSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="model_version.version")
    active_version = serializers.IntegerField(source="active_version.version")

    class Meta:
        model = ShadowPeriod
        fields = [
            "version",
            "active_version",
            "started_at",
            "started_by",
            "ended_at",
            "ended_by",
            "end_reason",
        ]


class ComparisonQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601, included. Default: every prediction the version scored"
    )
    until = serializers.DateTimeField(required=False, help_text="ISO 8601, excluded. Default: no end")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"since": ["since must be before until."]})
        return attrs
