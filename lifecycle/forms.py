"""The activation and four-eyes pages' forms; the rules are lifecycle/approvals.py's, as in the API."""

from __future__ import annotations

from typing import Any

from django import forms

from lifecycle.approvals import FORCE_REASON_MAX_LENGTH
from outcomes.forms import ThresholdApplyForm

# Where a setting's form sends the admin back: the what-if page (the default, its old form) or
# the version's activation page. A name, not a URL, so no redirect can be steered elsewhere.
WHAT_IF, MODEL = "what-if", "model"
ORIGINS = [(WHAT_IF, "the threshold what-if"), (MODEL, "the model's page")]


class ActivateForm(forms.Form):
    force = forms.BooleanField(
        required=False,
        label="Force it past the promotion gate",
        help_text="Overrides a refusal; the reason and the gate's findings go into the audit log.",
    )
    reason = forms.CharField(
        required=False,
        max_length=FORCE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason",
        help_text="Required when forcing.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("force") and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Forcing an activation past the promotion gate needs a reason.")
        return cleaned


class ThresholdProposeForm(ThresholdApplyForm):
    """The what-if page's apply form (version, threshold), sent back where it came from."""

    origin = forms.ChoiceField(choices=ORIGINS, required=False, widget=forms.HiddenInput)


class AuditSampleRateForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    audit_sample_rate = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        label="Audit sample rate",
        widget=forms.NumberInput(attrs={"step": "0.001"}),
        help_text="Share of automatic decisions also reviewed blind; 0 turns the sample off.",
    )
    origin = forms.ChoiceField(choices=ORIGINS, required=False, widget=forms.HiddenInput)


class RejectForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Why (optional)", widget=forms.TextInput())
