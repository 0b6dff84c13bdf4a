import json

PREDICT_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"


def post_json(client, url: str, payload):
    """POST a body as JSON text, so tests can also send what json.dumps would not write."""
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, body, content_type="application/json")


def detail_url(request_id: str) -> str:
    return f"{PREDICT_URL}{request_id}/"
