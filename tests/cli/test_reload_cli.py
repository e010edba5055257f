"""`coderef reload`: check the files, build the persisted store the servers switch to, or say
why not (exit 1 does not conform, 2 does not load) and change nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from server import create_app
from server.cli import main as coderef
from server.graph.builds import REFUSED, current_build, manifest
from support.reloading import (ASK_EXTRA, END_BEFORE_START, EXTRA, NEXT_REVIEW, assert_names_the_violation,
                                edit, settle)


@pytest.fixture
def store_dir(root_copy) -> Path:
    return root_copy / "var" / "store"  # STORE_DIR's default, under --root


def reload(capsys, root):
    code = coderef(["reload", "--root", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def folder(store_dir) -> dict:
    """The store folder's builds and CURRENT, as a snapshot to compare."""
    return {"current": (store_dir / "CURRENT").read_text(),
            "builds": sorted(p.name for p in store_dir.iterdir() if p.is_dir())}


def test_builds_then_reports_up_to_date(root_copy, store_dir, capsys):
    code, out, err = reload(capsys, root_copy)
    assert code == 0, out + err
    build = current_build(store_dir)
    assert build is not None and manifest(build)["conforms_to"]
    assert f"Built {build} ({manifest(build)['triples']:,} triples" in out
    assert "switch to it within 2 s" in out

    code, out, _ = reload(capsys, root_copy)
    assert code == 0 and out.startswith(f"The store is up to date: {build}")


def test_data_that_does_not_conform_exits_1_and_changes_nothing(root_copy, store_dir, capsys):
    assert reload(capsys, root_copy)[0] == 0
    before = folder(store_dir)
    edit(root_copy / "data" / "policies-commercial.ttl", NEXT_REVIEW, END_BEFORE_START)

    code, out, err = reload(capsys, root_copy)
    assert code == 1, out + err
    assert_names_the_violation(err)
    assert f"not built; servers keep serving {store_dir / before['current'].strip()}" in err
    assert folder(store_dir) == before


def test_a_file_that_does_not_parse_exits_2_naming_file_and_line(root_copy, store_dir, capsys):
    assert reload(capsys, root_copy)[0] == 0
    before = folder(store_dir)
    (root_copy / "data" / "broken.ttl").write_text("@prefix x: <http://x#> .\nx:a x:b \n", encoding="utf-8")

    code, out, err = reload(capsys, root_copy)
    assert code == 2, out + err
    assert "broken.ttl, line 3" in err and "Traceback" not in err
    assert folder(store_dir) == before


def test_with_no_store_yet_a_refusal_leaves_none(root_copy, store_dir, capsys):
    edit(root_copy / "data" / "policies-commercial.ttl", NEXT_REVIEW, END_BEFORE_START)
    code, _, err = reload(capsys, root_copy)
    assert code == 1 and "there is no store to serve yet" in err
    assert current_build(store_dir) is None


def test_a_refusal_is_recorded_until_the_shapes_or_the_files_change(root_copy, store_dir, capsys):
    """The refusal is recorded (the server's workers do not check the same files again);
    with the rule relaxed the same files conform and are built."""
    assert reload(capsys, root_copy)[0] == 0
    edit(root_copy / "data" / "policies-commercial.ttl", NEXT_REVIEW, END_BEFORE_START)
    assert reload(capsys, root_copy)[0] == 1
    assert (store_dir / REFUSED).is_file()
    edit(root_copy / "shapes" / "consistency.shapes.ttl",
         '"A policy, position, guidance or code that ends before it starts."@en ;\n'
         '    sh:targetSubjectsOf cr:endDate ;\n    sh:severity sh:Violation ;',
         '"A policy, position, guidance or code that ends before it starts."@en ;\n'
         '    sh:targetSubjectsOf cr:endDate ;\n    sh:severity sh:Warning ;')  # the rule relaxed

    code, out, err = reload(capsys, root_copy)
    assert code == 0, out + err
    assert not (store_dir / REFUSED).exists()


def test_a_running_app_switches_to_the_build_it_made(root_copy, store_dir, capsys):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1,
                      "STORE": "persisted", "STORE_DIR": str(store_dir)})
    holder = app.extensions["coderef.graph"]
    assert not holder.store.ask(ASK_EXTRA)
    (root_copy / "data" / "probe.ttl").write_text(EXTRA, encoding="utf-8")

    assert reload(capsys, root_copy)[0] == 0
    built = current_build(store_dir)
    store = settle(app)
    assert store.ask(ASK_EXTRA) and holder.reload_error is None
    assert holder.served == built.name and current_build(store_dir) == built  # opened, not built again


def test_in_a_real_process_with_progress_on_a_terminal(root_copy, store_dir):
    """The installed command, as a person runs it on a terminal: progress on stderr."""
    import os
    import pty

    command = Path(sys.executable).with_name("coderef")
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    proc = subprocess.Popen([str(command), "reload", "--root", str(root_copy)], stdout=subprocess.PIPE,
                            stderr=child, env=env)
    os.close(child)
    out, _ = proc.communicate(timeout=120)
    progress = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        progress += chunk
    os.close(main)
    assert proc.returncode == 0, out
    assert b"Built " in out
    assert b"Building the store" in progress and b"rule " in progress
