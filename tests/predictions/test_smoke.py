def test_it_scores_a_transaction(active_model, api_client, transactions):
    response = api_client.post("/api/v1/predictions/", {"features": transactions(1)[0]}, format="json")
    assert response.status_code == 201, response.json()
