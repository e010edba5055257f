"""The persisted embedded store: rebuilt only when ontology/ or data/ change, built
atomically (a failed or killed build leaves the last good store serving), opened read-only,
and shared by the gunicorn workers of `coderef serve`."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pyoxigraph as ox
import pytest

from server import config as cfg
from server import create_app
from server import files
from server.graph import builds as graph
from server.errors import DataError
from server.namespaces import sparql_prefixes
from server.graph.open import open_store
from server.store.embedded import EmbeddedStore

P = sparql_prefixes()
NEW_FACT = """
<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2004/02/skos/core#editorialNote> "added by test_stores"@en .
"""
ASK_NEW_FACT = P + 'ASK { <https://w3id.org/coderef/id/cpt/0584T> skos:editorialNote "added by test_stores"@en }'


@pytest.fixture
def settings(root_copy, tmp_path_factory):
    return cfg.resolve({"ROOT": str(root_copy), "STORE": "persisted",
                        "STORE_DIR": str(tmp_path_factory.mktemp("var") / "store")})


def current(settings) -> str:
    return (cfg.folder(settings, "STORE_DIR") / "CURRENT").read_text().strip()


def builds(settings) -> list[str]:
    return sorted(p.name for p in cfg.folder(settings, "STORE_DIR").iterdir() if p.is_dir())


def add_fact(root, text=NEW_FACT, name="cpt-0584T.ttl"):
    path = root / "data" / name
    with open(path, "a", encoding="utf-8") as out:
        out.write(text)
    return path


def test_the_first_open_builds_a_read_only_store(settings):
    store = open_store(settings)
    assert isinstance(store, EmbeddedStore) and store.read_only and store.stale is None
    assert len(store) > 3000
    assert store.ask(P + "ASK { <https://w3id.org/coderef/id/cpt/0584T> skos:notation \"0584T\" }")
    assert builds(settings) == [current(settings)]


def test_a_build_folder_has_the_umask_mode_not_the_temporary_0700(settings):
    """Built in a mkdtemp folder (0700), renamed into place: workers running as another user
    than the builder could not open it."""
    previous = os.umask(0o022)
    try:
        open_store(settings)
    finally:
        os.umask(previous)
    build = cfg.folder(settings, "STORE_DIR") / current(settings)
    assert build.stat().st_mode & 0o777 == 0o755


def test_nothing_can_be_written_to_it(settings):
    store = open_store(settings)
    quad = ox.Quad(ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p"), ox.Literal("o"))
    with pytest.raises(RuntimeError):
        store.store.add(quad)
    with pytest.raises(RuntimeError):
        store.store.update("INSERT DATA { <https://example.org/s> <https://example.org/p> 'o' }")
    assert quad not in store.store


def test_unchanged_files_reopen_without_a_rebuild(settings, monkeypatch):
    open_store(settings)
    before = current(settings)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(graph, "build_persisted", no_rebuild)
    store = open_store(settings)
    assert current(settings) == before and store.ask(P + "ASK { <https://w3id.org/coderef/id/cpt/0584T> ?p ?o }")


@pytest.mark.parametrize("change", ["edit", "new module", "removed file", "ontology"])
def test_a_change_to_ontology_or_data_rebuilds(settings, root_copy, change):
    first = open_store(settings)
    before = current(settings)
    if change == "edit":
        add_fact(root_copy)
    elif change == "new module":
        (root_copy / "data" / "modules").mkdir()
        add_fact(root_copy, NEW_FACT, "modules/extra.ttl")
    elif change == "removed file":
        (root_copy / "data" / "gaps.ttl").unlink()
    else:
        path = root_copy / "ontology" / "coderef.ttl"
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    second = open_store(settings)
    assert current(settings) != before
    if change in ("edit", "new module"):
        assert second.ask(ASK_NEW_FACT) and not first.ask(ASK_NEW_FACT)
    if change == "removed file":
        assert len(second) < len(first)


def test_a_failed_rebuild_keeps_the_last_good_store_and_says_why(settings, root_copy):
    open_store(settings)
    good = current(settings)
    bad = add_fact(root_copy, "\n<https://w3id.org/coderef/id/cpt/0584T> skos:note 'unterminated .\n", "broken.ttl")
    store = open_store(settings)
    assert current(settings) == good
    assert store.stale and "broken.ttl" in store.stale and "line 2" in store.stale, store.stale
    assert store.ask(P + "ASK { <https://w3id.org/coderef/id/cpt/0584T> skos:notation \"0584T\" }")
    assert not [b for b in builds(settings) if b.startswith(".build-")]
    bad.unlink()
    assert open_store(settings).stale is None


def test_with_no_good_store_a_failed_build_raises_naming_file_and_line(settings, root_copy):
    add_fact(root_copy, "\n\n<https://example.org/s> <https://example.org/p> .\n", "broken.ttl")
    with pytest.raises(DataError) as err:
        open_store(settings)
    assert err.value.path.endswith("broken.ttl") and err.value.line == 3
    assert not (cfg.folder(settings, "STORE_DIR") / "CURRENT").exists()


def test_a_build_that_dies_before_its_rename_leaves_the_old_store(settings, root_copy, monkeypatch):
    open_store(settings)
    good = current(settings)
    add_fact(root_copy)

    def killed(src, dst):
        raise KeyboardInterrupt  # as a kill between writing the store and renaming it

    monkeypatch.setattr(graph.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        open_store(settings)
    monkeypatch.undo()
    assert current(settings) == good
    assert builds(settings) == [good], "the unfinished build was left behind"


def test_leftovers_of_a_killed_build_are_never_opened(settings, root_copy):
    """A SIGKILL leaves a .build-* directory (and maybe a build without its manifest)."""
    open_store(settings)
    good = current(settings)
    store_dir = cfg.folder(settings, "STORE_DIR")
    add_fact(root_copy)
    fingerprint = files.fingerprint(cfg.data_files(settings))
    for name in (".build-killed", fingerprint):  # the second: renamed, then killed before its manifest
        half = ox.Store(str(store_dir / name))
        half.add(ox.Quad(ox.NamedNode("https://example.org/half"), ox.NamedNode("https://example.org/p"), ox.Literal("o")))
        del half
    (store_dir / "CURRENT").write_text(fingerprint + "\n")  # CURRENT naming an incomplete build
    store = open_store(settings)
    assert store.ask(ASK_NEW_FACT)
    assert not store.ask("ASK { <https://example.org/half> ?p ?o }")
    assert current(settings) == fingerprint != good
    assert ".build-killed" not in builds(settings)


def test_old_builds_are_swept_but_the_previous_one_kept(settings, root_copy):
    names = []
    for n in range(3):
        add_fact(root_copy, f'\n<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2004/02/skos/core#note> "{n}" .\n')
        open_store(settings)
        names.append(current(settings))
    assert builds(settings) == sorted(names[-2:])


def test_the_app_serves_from_the_persisted_store(settings):
    app = create_app({**settings, "TESTING": True})
    assert app.extensions["coderef.graph"].store.read_only
    answer = app.test_client().get("/api/questions/code_summary?code=0584T").get_json()
    assert answer["ok"] and answer["rows"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_coderef_serve_builds_once_and_workers_share_it(settings):
    """Two gunicorn workers, one build: the master builds before forking."""
    port = free_port()
    env = {**os.environ, "CODEREF_ROOT": settings["ROOT"], "CODEREF_STORE_DIR": settings["STORE_DIR"]}
    env.pop("CODEREF_STORE", None)
    env.pop("CODEREF_SPARQL_ENDPOINT", None)
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2",
                               "--quiet"], env=env, cwd=cfg.REPO_ROOT, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine starts slowly
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/questions/code_summary?code=0584T"
                with urllib.request.urlopen(url, timeout=10) as r:
                    assert r.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {server.stderr.read() if server.poll() is not None else ''}")
                time.sleep(0.2)
        assert builds(settings) == [current(settings)]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            err = server.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the master and any worker it left
            err = server.communicate()[1]
    assert "persisted store" in err
