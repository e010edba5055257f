"""`coderef serve` for real: gunicorn on a free port of 127.0.0.1 over a persisted store in a
copy of the repository. The second start finds the build current and every question checked
before, so it skips the spawned check; it must answer the same."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from server import config as cfg
from server.cli.serve import checked_before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root, store_dir):
    """The server process and its base URL, once it answers (or the test fails naming why)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    env.update({"CODEREF_ROOT": str(root), "CODEREF_STORE_DIR": str(store_dir), "CODEREF_QUERY_PROCESSES": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--workers", "1", "--quiet",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"coderef serve stopped: {proc.stderr.read().decode()[-800:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/questions/code_summary?code=0584T", timeout=30) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.1)
    stop(proc)
    pytest.fail("coderef serve did not answer within 180 s")


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def get_json(url):
    import json

    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture
def served_root(root_copy, tmp_path):
    return root_copy, tmp_path / "var" / "store"


def test_serve_answers_and_a_second_start_skips_the_check(served_root):
    root, store_dir = served_root
    settings = {**cfg.resolve({"ROOT": str(root), "STORE_DIR": str(store_dir)}), "STORE": "persisted"}
    assert not checked_before(settings)  # nothing built yet: the first start checks
    answers = []
    for _ in range(2):
        proc, base = serve(root, store_dir)
        try:
            body = get_json(f"{base}/api/questions/sources?code=0584T&limit=5")
            assert body["ok"] is True and len(body["rows"]) == 5 and body["next"]
            answers.append(get_json(f"{base}/api/questions/bundled_services?code=0584T")["rows"])
        finally:
            stop(proc)
        assert checked_before(settings)  # the first start left a current, checked build
    assert answers[0] == answers[1] and answers[0]


def test_a_changed_question_is_checked_again(served_root):
    root, store_dir = served_root
    settings = {**cfg.resolve({"ROOT": str(root), "STORE_DIR": str(store_dir)}), "STORE": "persisted"}
    proc, _ = serve(root, store_dir)
    stop(proc)
    assert checked_before(settings)
    query = root / "queries" / "related_codes.rq"
    query.write_text(query.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert not checked_before(settings)
    (root / "queries" / "broken.rq").write_text("#+ summary: s\n#+ nonsense: [\n\nSELECT", encoding="utf-8")
    assert not checked_before(settings)
