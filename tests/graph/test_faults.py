"""Faults the server must survive by itself: the remote endpoint going away and coming
back, a gunicorn worker killed mid-run, and a data reload with broken files."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support.oxigraph_server import OxigraphServer, free_port, oxigraph_command
from server import config as cfg
from server import create_app
from server.cli import main as coderef
from server.errors import DataError

SUMMARY = "/api/questions/code_summary?code=0584T"

# ------------------------------------------------------------------ the remote endpoint goes away

class PinnedOxigraph(OxigraphServer):
    """An Oxigraph server that comes back on the port it had: the app's setting names it."""

    def start(self, wait: float = 30.0):
        if self.port is None:
            return super().start(wait)
        command = [oxigraph_command(), "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"]
        # The old process has exited, but give the kernel a moment if the port is still held.
        for _ in range(20):
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._await_ready(wait):
                return self
            self.stop()
            time.sleep(0.25)
        raise RuntimeError(f"oxigraph did not come back on port {self.port}; see {self.log}")

    def stop(self):
        port = self.port
        super().stop()
        self.port = port


def test_remote_endpoint_down_fails_fast_and_recovers_by_itself(tmp_path):
    timeout = 5.0
    with PinnedOxigraph(tmp_path / "oxigraph") as server:
        assert coderef(["load", "--endpoint", server.query_url]) == 0
        app = create_app({"TESTING": True, "SPARQL_ENDPOINT": server.query_url, "QUERY_TIMEOUT": timeout})
        client = app.test_client()
        first = client.get(SUMMARY)
        assert first.status_code == 200 and first.get_json()["rows"]

        server.stop()
        for path in (SUMMARY, "/api/questions/bundled_services?code=0584T"):
            started = time.monotonic()
            down = client.get(path)
            elapsed = time.monotonic() - started
            assert down.status_code == 503, down.data[:300]
            body = down.get_json()
            assert body["ok"] is False and body["status"] == 503 and body["error"], body
            assert server.query_url in body["error"] or "unreachable" in body["error"], body
            assert elapsed < timeout / 5, f"took {elapsed:.2f} s to fail; the query timeout is {timeout} s"
        page = client.get("/codes/0584T")
        assert page.status_code == 503

        server.start()  # same port, same data directory; the app is not touched
        again = client.get(SUMMARY)
        assert again.status_code == 200, again.data[:300]
        assert again.get_json()["rows"] == first.get_json()["rows"]
        assert client.get("/codes/0584T").status_code == 200


# ------------------------------------------------------------------ a worker is killed

def children(pid: int) -> set[int]:
    """Live processes whose parent is `pid`: the gunicorn workers (not multiprocessing's
    resource tracker, which the store's preparation may leave behind)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"multiprocessing" not in cmd:
            found.add(int(entry.name))
    return found


def get(url: str, timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0  # connection reset or refused


@pytest.fixture
def serving(root_copy, tmp_path_factory):
    """`coderef serve` with two workers on a free port of 127.0.0.1, stopped at the end."""
    port = free_port()
    env = {**os.environ, "CODEREF_ROOT": str(root_copy),
           "CODEREF_STORE_DIR": str(tmp_path_factory.mktemp("var") / "store")}
    for name in ("CODEREF_STORE", "CODEREF_SPARQL_ENDPOINT"):
        env.pop(name, None)
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2",
                               "--quiet"], env=env, cwd=cfg.REPO_ROOT, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine starts slowly
        while get(base + SUMMARY, timeout=10) != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {server.stderr.read() if server.poll() is not None else ''}")
            time.sleep(0.2)
        yield server, base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the master and any worker it left
            server.communicate()


def test_a_killed_worker_is_replaced_and_the_other_keeps_serving(serving):
    server, base = serving
    deadline = time.monotonic() + 60
    while len(workers := children(server.pid)) < 2:
        assert time.monotonic() < deadline, f"expected 2 workers, found {workers}"
        time.sleep(0.1)
    victim = min(workers)

    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            statuses.append(get(base + SUMMARY))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        killed_at = len(statuses)
        deadline = time.monotonic() + 60
        while True:
            now = children(server.pid)
            if len(now) == 2 and victim not in now:
                break
            assert time.monotonic() < deadline, f"no replacement worker: {now}"
            time.sleep(0.1)
        time.sleep(2)  # keep asking with the replacement in place
    finally:
        stop.set()
        asker.join(30)
    replacement = now - workers
    assert replacement and server.poll() is None
    failed = [s for s in statuses if s != 200]
    assert len(failed) <= 1, f"{len(failed)} of {len(statuses)} requests failed: {sorted(set(failed))}"
    assert len(statuses) - killed_at >= 5, "too few requests after the kill to tell"
    # The replacement answers too: enough fresh connections reach both workers.
    assert all(get(base + SUMMARY) == 200 for _ in range(10))


# ------------------------------------------------------------------ a reload with broken data

BROKEN = {
    "malformed Turtle": ("broken.ttl", (
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<https://w3id.org/coderef/id/cpt/0584T> skos:editorialNote \"fine\"@en .\n"
        "<https://w3id.org/coderef/id/cpt/0584T> skos:editorialNote \"unterminated .\n").encode(), "line 3"),
    "not text at all": ("binary.ttl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", None),
    "truncated triple": ("cut.ttl", b"<https://w3id.org/coderef/id/cpt/0584T>\n  <https://example.org/p>\n", None),
}
NEW_NOTE = ('\n<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2004/02/skos/core#editorialNote> '
            '"added by test_faults"@en .\n')
ASK_NEW_NOTE = ('ASK { <https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2004/02/skos/core#editorialNote> '
                '"added by test_faults"@en }')


@pytest.mark.parametrize("store_kind", ["memory", "persisted"])
@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_a_broken_reload_keeps_the_last_good_graph_and_says_why(root_copy, tmp_path_factory, store_kind, case):
    name, content, where = BROKEN[case]
    config = {"ROOT": str(root_copy), "TESTING": True, "STORE": store_kind,
              "STORE_DIR": str(tmp_path_factory.mktemp("var") / "store")}
    app = create_app(config)
    holder = app.extensions["coderef.graph"]
    client = app.test_client()
    before = client.get(SUMMARY).get_json()
    good = holder.store
    assert before["ok"] and before["rows"]

    # A good change first: reload picks it up (so the later "nothing changed" is meaningful).
    with open(root_copy / "data" / "cpt-0584T.ttl", "a", encoding="utf-8") as out:
        out.write(NEW_NOTE)
    holder.load()
    assert holder.store is not good and holder.store.ask(ASK_NEW_NOTE)
    good = holder.store
    triples = len(good)

    (root_copy / "data" / name).write_bytes(content)
    if store_kind == "memory":
        with pytest.raises(DataError) as err:
            holder.load()
        reason = str(err.value)
        assert err.value.path.endswith(name)
    else:  # the persisted store opens the last good build and says why it is stale
        reason = holder.load().stale
    assert reason and name in reason, reason
    if where:
        assert where in reason, reason
    served = holder.store
    assert len(served) == triples and served.ask(ASK_NEW_NOTE)
    after = client.get(SUMMARY)
    assert after.status_code == 200 and after.get_json()["rows"] == before["rows"]
    assert client.get("/codes/0584T").status_code == 200

    (root_copy / "data" / name).unlink()  # fixed: the next reload is clean again
    fixed = holder.load()
    assert getattr(fixed, "stale", None) is None and fixed.ask(ASK_NEW_NOTE)
