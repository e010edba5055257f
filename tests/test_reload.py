"""The running app notices changed files in ontology/ and data/ and reloads them without a
restart; a change that does not load keeps the last good graph serving and says why."""

import time

import pytest

from server import create_app

ASK_EXTRA = "ASK { <https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'reload probe' }"
EXTRA = "<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'reload probe' .\n"


def settle(app, seconds=0.15):
    """Wait past the reload interval, then make one request (which runs the check)."""
    time.sleep(seconds)
    with app.app_context():
        from server.graph import get_store

        return get_store()


@pytest.mark.parametrize("kind", ["memory", "persisted"])
def test_changed_files_reload_without_restart(root_copy, tmp_path, kind):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1,
                      "STORE": kind, "STORE_DIR": str(tmp_path / "store")})
    holder = app.extensions["coderef.graph"]
    assert not settle(app).ask(ASK_EXTRA)
    before = len(holder.store)

    (root_copy / "data" / "probe.ttl").write_text(EXTRA, encoding="utf-8")
    assert settle(app).ask(ASK_EXTRA), "a new data file shows up without a restart"
    assert len(holder.store) == before + 1 and holder.reload_error is None

    (root_copy / "data" / "broken.ttl").write_text("@prefix x: <http://x#> .\nx:a x:b \n", encoding="utf-8")
    store = settle(app)
    assert store.ask(ASK_EXTRA) and len(store) == before + 1, "the last good graph keeps serving"
    assert "broken.ttl" in holder.reload_error and "line" in holder.reload_error
    response = app.test_client().get("/api/questions/code_summary?code=0584T")
    assert response.status_code == 200 and response.get_json()["rows"]

    (root_copy / "data" / "broken.ttl").unlink()
    (root_copy / "data" / "probe.ttl").unlink()
    store = settle(app)
    assert not store.ask(ASK_EXTRA) and len(store) == before and holder.reload_error is None


def test_interval_zero_never_reloads(root_copy):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0})
    (root_copy / "data" / "probe.ttl").write_text(EXTRA, encoding="utf-8")
    assert not settle(app).ask(ASK_EXTRA)
