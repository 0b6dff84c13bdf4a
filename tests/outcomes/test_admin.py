"""Outcomes in the Django admin: listed and searchable, never edited there."""

from outcomes.models import Outcome
from tests.outcomes.factories import report


def test_an_admin_finds_an_outcome_by_request_id_and_cannot_change_it(admin_client, api_client, prediction):
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback", reference="cb-9")
    outcome = Outcome.objects.get()

    listing = admin_client.get(f"/admin/outcomes/outcome/?q={prediction.request_id}")
    change = admin_client.post(f"/admin/outcomes/outcome/{outcome.pk}/change/", {"label": "legit"})

    assert listing.status_code == 200
    assert "cb-9" in listing.content.decode()
    assert change.status_code == 403
    assert Outcome.objects.get().label == "fraud"
    assert admin_client.get("/admin/outcomes/outcome/add/").status_code == 403
