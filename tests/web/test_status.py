"""GET /api/status: the serving graph and why the last reload failed, if it did."""

import pytest

from server import create_app
from server.files import fingerprint
from support.reloading import EXTRA, settle

FIELDS = ["ok", "store", "triples", "fingerprint", "loaded_at", "reload_interval", "reload_error", "reports"]


def test_status_of_the_shipped_reference(client, store, backend):
    response = client.get("/api/status")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == FIELDS and body["ok"] is True and body["reload_error"] is None
    assert body["loaded_at"].endswith("+00:00")
    if backend != "embedded":
        assert body["store"] == "remote" and body["triples"] is None and body["fingerprint"] is None
        assert body["reports"] == []  # a remote endpoint's data changes behind our back: always SPARQL
    else:
        holder = client.application.extensions["coderef.graph"]
        assert body["store"] == "memory" and body["triples"] == len(store) > 3000
        assert body["fingerprint"] == fingerprint(holder.files)
        assert body["reports"] == ["coverage_conflicts", "family_inconsistencies", "payer_gaps", "stale_policies"]


@pytest.mark.embedded_only
@pytest.mark.parametrize("kind", ["memory", "persisted"])
def test_status_follows_reloads(root_copy, tmp_path, kind, backend):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1,
                      "STORE": kind, "STORE_DIR": str(tmp_path / "store")})
    client = app.test_client()
    first = client.get("/api/status").get_json()
    assert first["store"] == kind and first["reload_error"] is None

    probe = root_copy / "data" / "probe.ttl"
    probe.write_text(EXTRA, encoding="utf-8")
    settle(app)
    added = client.get("/api/status").get_json()
    assert added["triples"] == first["triples"] + 1 and added["fingerprint"] != first["fingerprint"]
    assert added["loaded_at"] >= first["loaded_at"] and added["reload_error"] is None

    (root_copy / "data" / "broken.ttl").write_text("@prefix x: <http://x#> .\nx:a x:b \n", encoding="utf-8")
    settle(app)
    refused = client.get("/api/status").get_json()
    assert "broken.ttl, line 3" in refused["reload_error"]
    assert {k: refused[k] for k in ("triples", "fingerprint", "loaded_at")} == \
           {k: added[k] for k in ("triples", "fingerprint", "loaded_at")}, "the last good graph is reported"

    (root_copy / "data" / "broken.ttl").unlink()
    settle(app)
    assert client.get("/api/status").get_json()["reload_error"] is None
