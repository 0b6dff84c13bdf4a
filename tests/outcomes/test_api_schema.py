"""The outcome endpoints are in the OpenAPI schema, with every answer they can give."""

import yaml


def test_the_schema_documents_the_outcome_endpoints(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    assert set(paths["/api/v1/outcomes/"]) == {"get", "post"}
    assert set(paths["/api/v1/outcomes/"]["post"]["responses"]) >= {
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "429",
    }
    assert set(paths["/api/v1/outcomes/batch/"]["post"]["responses"]) >= {"200", "201", "400", "409"}
    fields = yaml.safe_load(response.content)["components"]["schemas"]["OutcomeInputRequest"]["properties"]
    assert set(fields) == {"request_id", "label", "source", "occurred_at", "reference"}
