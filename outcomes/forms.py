from typing import Any

from django import forms

from outcomes import quality
from predictions.models import ModelVersion


class OutcomeUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns request_id,label,source,occurred_at,reference, with a header row; UTF-8.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class QualityWindowForm(forms.Form):
    """The scorecard's window on the page; the rules are quality.quality_window's, as in the API."""

    # Text, not a date picker: the same YYYY-MM-DD as the API, and it fits the filter bar.
    since = forms.DateField(
        required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"placeholder": "YYYY-MM-DD"})
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"placeholder": "YYYY-MM-DD"})
    )
    model_version = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Model version", choices=[("", "all")]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = ModelVersion.objects.order_by("-version").values_list("version", flat=True)
        self.fields["model_version"].choices = [("", "all"), *((v, f"v{v}") for v in versions)]  # type: ignore[attr-defined]


class ThresholdsForm(QualityWindowForm):
    analyst_hours_per_day = forms.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_ANALYST_HOURS_PER_DAY,
        label="Analyst hours a day",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    cost_false_positive = forms.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_COST,
        label="Cost of a false positive",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    cost_missed_fraud = forms.FloatField(
        required=False,
        min_value=0,
        max_value=quality.MAX_COST,
        label="Cost of a missed fraud",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )

    DEFAULTS = {
        "analyst_hours_per_day": quality.DEFAULT_ANALYST_HOURS_PER_DAY,
        "cost_false_positive": quality.DEFAULT_COST_FALSE_POSITIVE,
        "cost_missed_fraud": quality.DEFAULT_COST_MISSED_FRAUD,
    }

    def what_if_parameters(self) -> dict[str, float]:
        """The costs and hours asked for, the defaults where left empty (after is_valid)."""
        parameters = {}
        for name, default in self.DEFAULTS.items():
            asked = self.cleaned_data.get(name)
            parameters[name] = default if asked is None else float(asked)
        return parameters


class ThresholdApplyForm(forms.Form):
    """An admin applies a threshold to the version that was active when the page was drawn."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    threshold = forms.FloatField(
        min_value=0.5, max_value=1.0, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
