"""The upload page: admins send a CSV of outcomes and see what was stored and which lines were not."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from outcomes.models import Outcome
from tests.outcomes.factories import UPLOAD_URL, report

HEADER = "request_id,label,source,occurred_at,reference\n"


def upload(client, text: str | bytes, name: str = "outcomes.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(UPLOAD_URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


@pytest.fixture
def admin_client(client, make_user) -> Client:
    client.force_login(make_user("admin"))
    return client


def test_an_admin_gets_the_form(admin_client):
    response = admin_client.get(UPLOAD_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "request_id,label,source,occurred_at,reference" in page


def test_an_upload_stores_the_good_rows_and_lists_the_bad_ones_by_line(admin_client, make_predictions):
    first, second = make_predictions(2)
    text = (
        HEADER
        + f"{first.request_id},fraud,chargeback,,d-1\nnever-scored,fraud,,,\n{second.request_id},legit,,,\n"
    )
    response = upload(admin_client, text)

    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.stored, summary.unchanged, summary.bad) == (2, 0, 1)
    page = response.content.decode()
    assert re.search(r"<dt>Stored</dt><dd>2</dd>", page)
    assert re.search(
        r'<td class="num">3</td><td>request_id: There is no prediction with this request_id.</td>', page
    )
    assert Outcome.objects.count() == 2
    assert set(Outcome.objects.values_list("reported_by", flat=True)) == {"user:admin"}
    events = AuditEvent.objects.filter(action=AuditEvent.Action.OUTCOME_RECORDED)
    assert sorted(events.values_list("request_id", flat=True)) == sorted(
        [first.request_id, second.request_id]
    )
    assert set(events.values_list("actor", flat=True)) == {"user:admin"}


def test_an_upload_of_stored_outcomes_leaves_them_unchanged(admin_client, api_client, prediction):
    report(api_client, request_id=prediction.request_id, label="fraud", source="chargeback", reference="d-1")
    response = upload(admin_client, HEADER + f"{prediction.request_id},fraud,chargeback,,d-1\n")

    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.stored, summary.unchanged, summary.bad) == (0, 1, 0)
    assert Outcome.objects.count() == 1


def test_a_file_beyond_the_in_memory_limit_is_read_from_its_temporary_file(
    admin_client, prediction, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    rows = "".join(f"{prediction.request_id},fraud,,,r-{n}\n" for n in range(300))
    response = upload(admin_client, HEADER + rows)

    assert response.status_code == 200
    assert response.context["summary"].stored == 300
    assert Outcome.objects.count() == 300


def test_the_upload_may_be_larger_than_an_api_body(admin_client, api_client, prediction, settings):
    settings.MAX_REQUEST_BODY_BYTES = 2048
    rows = "".join(f"{prediction.request_id},fraud,,,r-{n}\n" for n in range(200))
    page = upload(admin_client, HEADER + rows)
    api = api_client.post("/api/v1/outcomes/batch/", {"items": [{"reference": "r" * 4000}]}, format="json")

    assert page.status_code == 200
    assert page.context["summary"].stored == 200
    assert api.status_code == 413


def test_the_upload_needs_the_csrf_token(make_user, prediction):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("admin"))
    without = upload(browser, HEADER + f"{prediction.request_id},fraud,,,\n")
    browser.get(UPLOAD_URL)
    token = browser.cookies["csrftoken"].value
    with_token = browser.post(
        UPLOAD_URL,
        {"file": SimpleUploadedFile("o.csv", (HEADER + f"{prediction.request_id},fraud,,,\n").encode())},
        headers={"X-CSRFToken": token},
    )

    assert without.status_code == 403
    assert with_token.status_code == 200
    assert Outcome.objects.count() == 1


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_people_other_than_admins_may_not_upload(client, make_user, prediction, role):
    client.force_login(make_user(role))
    shown = client.get(UPLOAD_URL)
    sent = upload(client, HEADER + f"{prediction.request_id},fraud,,,\n")

    assert (shown.status_code, sent.status_code) == (403, 403)
    assert Outcome.objects.count() == 0


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login_page(client, prediction):
    response = upload(client, HEADER + f"{prediction.request_id},fraud,,,\n")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Outcome.objects.count() == 0


def test_a_file_without_a_usable_header_is_refused_whole(admin_client, prediction):
    response = upload(admin_client, f"request_id,label,colour\n{prediction.request_id},fraud,red\n")

    assert response.status_code == 400
    assert "Unknown columns &#x27;colour&#x27;" in response.content.decode()
    assert Outcome.objects.count() == 0


def test_a_form_without_a_file_is_refused(admin_client):
    response = admin_client.post(UPLOAD_URL, {})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_an_empty_file_is_refused(admin_client):
    response = upload(admin_client, b"")

    assert response.status_code == 400
    assert "The submitted file is empty." in response.content.decode()


def test_admins_find_the_page_in_the_navigation_and_others_do_not(client, make_user):
    client.force_login(make_user("admin"))
    admin_page = client.get("/monitoring/").content.decode()
    client.force_login(make_user("auditor"))
    auditor_page = client.get("/monitoring/").content.decode()

    assert f'href="{UPLOAD_URL}"' in admin_page
    assert f'href="{UPLOAD_URL}"' not in auditor_page


def test_only_an_admin_may_send_a_body_larger_than_an_api_body(client, make_user, prediction, settings):
    settings.MAX_REQUEST_BODY_BYTES = 2048
    rows = "".join(f"{prediction.request_id},fraud,,,r-{n}\n" for n in range(200))

    anonymous = upload(client, HEADER + rows)
    client.force_login(make_user("analyst"))
    analyst = upload(client, HEADER + rows)

    assert anonymous.status_code == 413
    assert analyst.status_code == 413
    assert not Outcome.objects.exists()
