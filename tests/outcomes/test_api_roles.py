"""Who may report and read outcomes: API keys for their own predictions, admins for any,
auditors read, analysts neither."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from outcomes.models import Outcome
from tests.outcomes.factories import BATCH_URL, OUTCOMES_URL, report, report_batch


@pytest.mark.parametrize("method, url", [("post", OUTCOMES_URL), ("post", BATCH_URL), ("get", OUTCOMES_URL)])
def test_it_needs_credentials(db, method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("role", ["analyst", "auditor", None])
def test_people_other_than_admins_may_not_report(staff_client, prediction, role):
    client = staff_client(role)
    single = report(client, request_id=prediction.request_id, label="fraud")
    batch = report_batch(client, [{"request_id": prediction.request_id, "label": "fraud"}])

    assert (single.status_code, batch.status_code) == (403, 403)
    assert Outcome.objects.count() == 0


def test_an_admin_may_report_on_any_prediction(staff_client, other_key_prediction):
    response = report(staff_client("admin"), request_id=other_key_prediction.request_id, label="fraud")

    assert response.status_code == 201, response.content
    assert response.json()["request_id"] == other_key_prediction.request_id
    outcome = Outcome.objects.get()
    assert (outcome.api_key_id, outcome.reported_by) == (None, "user:admin")
    event = AuditEvent.objects.get(action=AuditEvent.Action.OUTCOME_RECORDED)
    assert (event.actor, event.request_id) == ("user:admin", other_key_prediction.request_id)


def test_an_admin_may_report_a_batch_on_predictions_of_several_keys(
    staff_client, prediction, other_key_prediction
):
    items = [{"request_id": p.request_id, "label": "legit"} for p in (prediction, other_key_prediction)]
    response = report_batch(staff_client("admin"), items)

    assert response.status_code == 201
    assert Outcome.objects.count() == 2


def test_a_key_may_not_report_on_another_keys_prediction(api_client, other_key_prediction):
    response = report(api_client, request_id=other_key_prediction.request_id, label="fraud")

    # The same answer as for a request_id that does not exist: nothing says it does.
    assert response.status_code == 400
    assert response.json() == {"request_id": ["There is no prediction with this request_id."]}
    assert Outcome.objects.count() == 0


def test_a_key_may_not_report_on_a_prediction_an_admin_made(api_client, make_predictions):
    made_by_admin = make_predictions(1, api_key=None)[0]
    response = report(api_client, request_id=made_by_admin.request_id, label="fraud")

    assert response.status_code == 400
    assert list(response.json()) == ["request_id"]


def test_a_key_may_not_slip_another_keys_prediction_into_a_batch(
    api_client, prediction, other_key_prediction
):
    items = [{"request_id": p.request_id, "label": "fraud"} for p in (prediction, other_key_prediction)]
    response = report_batch(api_client, items)

    assert response.status_code == 400
    assert response.json() == {
        "items": {"1": {"request_id": ["There is no prediction with this request_id."]}}
    }
    assert Outcome.objects.count() == 0


def test_the_other_key_reports_on_its_own_prediction(other_api_client, other_key_prediction):
    response = report(other_api_client, request_id=other_key_prediction.request_id, label="fraud")

    assert response.status_code == 201
    assert Outcome.objects.get().reported_by == "api_key:other-checkout"


# --- reading ------------------------------------------------------------------------------


@pytest.fixture
def two_outcomes(api_client, other_api_client, prediction, other_key_prediction) -> dict:
    ours = report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback").json()
    theirs = report(other_api_client, request_id=other_key_prediction.request_id, label="legit").json()
    return {"ours": ours, "theirs": theirs}


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_every_outcome_newest_first(staff_client, two_outcomes, role):
    response = staff_client(role).get(OUTCOMES_URL)

    assert response.status_code == 200
    assert response.json()["results"] == [two_outcomes["theirs"], two_outcomes["ours"]]


def test_analysts_may_not_read_outcomes(staff_client, two_outcomes):
    response = staff_client("analyst").get(OUTCOMES_URL)

    assert response.status_code == 403


def test_a_key_reads_the_outcomes_of_its_own_predictions_only(api_client, two_outcomes):
    response = api_client.get(OUTCOMES_URL)

    assert response.status_code == 200
    assert response.json()["results"] == [two_outcomes["ours"]]


def test_the_list_filters_by_request_id_label_and_source(staff_client, two_outcomes, prediction):
    client = staff_client("auditor")

    by_request_id = client.get(OUTCOMES_URL, {"request_id": prediction.request_id}).json()["results"]
    by_label = client.get(OUTCOMES_URL, {"label": "legit"}).json()["results"]
    by_source = client.get(OUTCOMES_URL, {"source": "chargeback"}).json()["results"]

    assert by_request_id == by_source == [two_outcomes["ours"]]
    assert by_label == [two_outcomes["theirs"]]


@pytest.mark.parametrize(
    "query",
    [{"label": "maybe"}, {"source": "gossip"}, {"request_id": "nul\x00byte"}, {"occurred_after": "soon"}],
)
def test_the_list_refuses_a_bad_filter_naming_it(staff_client, two_outcomes, query):
    response = staff_client("auditor").get(OUTCOMES_URL, query)

    assert response.status_code == 400
    assert list(response.json()) == list(query)
