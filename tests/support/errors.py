"""The one helper that knows the JSON error shape: every error test goes through it."""


def assert_error(response, status: int) -> str:
    """The one error shape: {"ok": false, "error": "...", "status": N}, nothing else."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"].strip()
    return body["error"]
