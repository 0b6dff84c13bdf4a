from typing import Any

from django import forms

from predictions.models import Prediction
from reviews.models import Decision


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Decision.Outcome.choices)
    reason = forms.ChoiceField(
        choices=[("", "Choose a reason…"), *Decision.Reason.choices],
        required=False,
        help_text="Required to override the model.",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    digest = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data; the stub allows None for overrides
        if cleaned.get("outcome") == Decision.Outcome.OVERRIDDEN and not cleaned.get("reason"):
            self.add_error("reason", "Choose a reason to override the model.")
        return cleaned


class BlindDecisionForm(forms.Form):
    """A blind item is decided by the analyst's own label: they never saw the model's to confirm."""

    label = forms.ChoiceField(choices=Prediction.Label.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    digest = forms.CharField(widget=forms.HiddenInput, max_length=64)
