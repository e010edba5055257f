"""The running app notices changed files in ontology/ and data/ and reloads them without a
restart; a change that does not load keeps the last good graph serving and says why."""

import pytest

from server import create_app
from support.reloading import ASK_EXTRA, END_BEFORE_START, EXTRA, NEXT_REVIEW, assert_names_the_violation, edit, settle




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


# ------------------------------------------------------------------ data that parses but does not conform

SUMMARY = "/api/questions/code_summary?code=0584T"
ASK_END_DATE = ("ASK { ?policy <https://w3id.org/coderef/ontology#endDate> "
                "'2020-01-01'^^<http://www.w3.org/2001/XMLSchema#date> }")
SUNSET = ('<https://w3id.org/coderef/id/cpt/0584T> <https://w3id.org/coderef/ontology#sunsetDate> '
          '"2001-01-01"^^<http://www.w3.org/2001/XMLSchema#date> .\n')


@pytest.mark.parametrize("kind", ["memory", "persisted"])
def test_a_reload_that_does_not_conform_keeps_the_last_good_graph(root_copy, tmp_path, kind):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1,
                      "STORE": kind, "STORE_DIR": str(tmp_path / "store")})
    holder = app.extensions["coderef.graph"]
    client = app.test_client()
    before = client.get(SUMMARY).get_json()
    serving = holder.store
    good = len(serving)
    assert before["rows"] and holder.reload_error is None

    # One good fact and one violation in the same change: all of it is refused.
    (root_copy / "data" / "probe.ttl").write_text(EXTRA, encoding="utf-8")
    policies = root_copy / "data" / "policies-commercial.ttl"
    edit(policies, NEXT_REVIEW, END_BEFORE_START)
    store = settle(app)
    assert_names_the_violation(holder.reload_error)
    assert store is serving, "the same store object serves (server/web/cache.py keys answers by it)"
    assert len(store) == good and not store.ask(ASK_EXTRA) and not store.ask(ASK_END_DATE)
    after = client.get(SUMMARY)
    assert after.status_code == 200 and after.get_json()["rows"] == before["rows"]
    if kind == "persisted":
        # Recorded beside the build: a command that opens the store without the shapes
        # (`coderef query`, and `coderef serve` before its workers start) keeps it too.
        from server.graph.open import open_store

        other = open_store({"ROOT": str(root_copy), "STORE": "persisted", "STORE_DIR": str(tmp_path / "store")})
        assert_names_the_violation(other.stale)
        assert len(other) == good and not other.ask(ASK_END_DATE)

    edit(policies, END_BEFORE_START, NEXT_REVIEW)  # fixed: the next look reloads
    store = settle(app)
    assert holder.reload_error is None
    assert store.ask(ASK_EXTRA) and len(store) == good + 1


@pytest.mark.parametrize("kind", ["memory", "persisted"])
def test_warnings_do_not_block_a_reload(root_copy, tmp_path, kind):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1,
                      "STORE": kind, "STORE_DIR": str(tmp_path / "store")})
    holder = app.extensions["coderef.graph"]
    (root_copy / "data" / "sunset.ttl").write_text(SUNSET, encoding="utf-8")
    store = settle(app)
    assert holder.reload_error is None
    assert store.ask("ASK { <https://w3id.org/coderef/id/cpt/0584T> <https://w3id.org/coderef/ontology#sunsetDate> ?d }")


def test_a_persisted_store_does_not_start_on_data_that_does_not_conform(root_copy, tmp_path):
    """No last good build to fall back on: the start fails naming the violation, as it does
    for a file that does not parse (`coderef serve` exits 1 with this message)."""
    from server.errors import NotConforming

    edit(root_copy / "data" / "policies-commercial.ttl", NEXT_REVIEW, END_BEFORE_START)
    with pytest.raises(NotConforming) as err:
        create_app({"TESTING": True, "ROOT": str(root_copy), "STORE": "persisted", "STORE_DIR": str(tmp_path / "store")})
    assert err.value.exit_code == 1
    assert_names_the_violation(err.value.message)
    assert not (tmp_path / "store" / "CURRENT").exists()


def test_a_build_made_without_the_shapes_is_checked_before_it_serves(root_copy, tmp_path):
    """`coderef serve` builds the store before its workers load the app; a build made there
    without the shapes is checked when the app opens it, and the last build that conformed
    serves instead."""
    from server import config as cfg
    from server.graph.builds import current_build, ensure_persisted

    settings = {"TESTING": True, "ROOT": str(root_copy), "STORE": "persisted", "STORE_DIR": str(tmp_path / "store")}
    good = len(create_app(settings).extensions["coderef.graph"].store)
    good_build = current_build(tmp_path / "store")
    edit(root_copy / "data" / "policies-commercial.ttl", NEXT_REVIEW, END_BEFORE_START)
    unchecked, problem = ensure_persisted(cfg.data_files(cfg.resolve(settings)), tmp_path / "store")
    assert problem is None and current_build(tmp_path / "store") == unchecked != good_build

    holder = create_app(settings).extensions["coderef.graph"]
    assert_names_the_violation(holder.reload_error)
    assert len(holder.store) == good and not holder.store.ask(ASK_END_DATE)
    assert current_build(tmp_path / "store") == good_build
