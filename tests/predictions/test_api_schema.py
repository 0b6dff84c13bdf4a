"""The OpenAPI schema and its interactive docs, for people allowed to use the API."""

import yaml


def test_the_schema_needs_authentication(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 401


def test_the_schema_is_not_served_to_a_user_without_a_role(client, make_user):
    client.force_login(make_user(None))
    response = client.get("/api/schema/")

    assert response.status_code == 403


def test_the_schema_is_served_to_an_api_client(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert "/api/v1/predictions/" in yaml.safe_load(response.content)["paths"]


def test_the_schema_is_served_to_a_signed_in_admin(client, make_user):
    client.force_login(make_user("admin"))
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/predictions/",
        "/api/v1/predictions/batch/",
        "/api/v1/predictions/{request_id}/",
        "/api/v1/models/active/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "Authorization"


def test_the_docs_need_authentication(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 401


def test_the_docs_load_for_a_signed_in_admin_from_local_static_files(client, make_user):
    client.force_login(make_user("admin"))
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    # The start-up script is a separate file (no inline script, for the CSP); it loads the schema.
    assert "/api/docs/?script" in page
    assert "/api/schema/" in client.get("/api/docs/?script=").content.decode()
