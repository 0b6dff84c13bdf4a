from django import forms


class OutcomeUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns request_id,label,source,occurred_at,reference, with a header row; UTF-8.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
