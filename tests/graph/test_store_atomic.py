"""Rebuilding the persisted store is atomic: `coderef reload` killed (SIGKILL) at any point
leaves the store folder opening to exactly the old graph or the new one, never a mix, and
the next build recovers (no stale lock, no half build taken as current). Issue 6, faults."""

import fcntl
import os
import random

import pyoxigraph as ox
import pytest

from support.killing import run_killed as killed
from server.cli import main as coderef
from server.graph.builds import MANIFEST, current_build, manifest
from server.sparql.dataset import query as union_query

PROBE = "<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'atomic probe' .\n"
NO_PROBE = "# the probe is out of this version\n"
ASK_PROBE = "ASK { <https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'atomic probe' }"

# `coderef reload` with a marker line and a pause around each rename the build makes: the
# build folder into place, then CURRENT over the old one.
KILLABLE = r"""
import os, sys, time
real_replace = os.replace

def replace(src, dst):
    name = os.path.basename(dst)
    tag = "CURRENT" if name == "CURRENT" else None if name.startswith(".") or "." in name else "build"
    if tag:
        print("before " + tag, flush=True)
        time.sleep(0.3)
    real_replace(src, dst)
    if tag:
        print("after " + tag, flush=True)
        time.sleep(0.3)

os.replace = replace
from server.cli import main
print("ready", flush=True)
sys.exit(main(["reload", "--root", sys.argv[1]]))
"""


def served(store_dir):
    """(triples, holds the probe) of the graph the store folder opens to, as a server opens it."""
    build = current_build(store_dir)
    assert build is not None, "CURRENT names no complete build"
    store = ox.Store.read_only(str(build))
    try:
        triples, probe = len(store), bool(union_query(store, ASK_PROBE))
    finally:
        del store
    assert manifest(build)["triples"] == triples, f"{build.name}: the manifest and the store disagree"
    return triples, probe


def run_killed(repo_root, root, when) -> bool:
    """`coderef reload` killed at `when` (a marker line, or seconds after start-up); whether
    it finished first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    return killed(KILLABLE, [root], repo_root, when, env)


@pytest.mark.embedded_only
def test_a_killed_rebuild_leaves_the_old_or_the_new_store(root_copy, repo_root):
    store_dir = root_copy / "var" / "store"
    probe = root_copy / "data" / "probe.ttl"
    probe.write_text(NO_PROBE, encoding="utf-8")
    assert coderef(["reload", "--root", str(root_copy)]) == 0
    base, has_probe = served(store_dir)
    assert not has_probe

    rng = random.Random(6)
    moments = ["before build", "before CURRENT", "after CURRENT", *(rng.uniform(0.0, 2.5) for _ in range(15))]
    outcomes = []
    for when in moments:
        old = served(store_dir)
        new = (base + (not old[1]), not old[1])
        probe.write_text(PROBE if new[1] else NO_PROBE, encoding="utf-8")  # a new version of the files
        finished = run_killed(repo_root, root_copy, when)
        now = served(store_dir)
        assert now in (old, new), f"killed at {when}: {now}, expected {old} (old) or {new} (new)"
        outcomes.append((when, "new" if now == new else "old", finished))
    # Before either rename the old store serves; once CURRENT is replaced, the new one.
    assert [o[1] for o in outcomes[:3]] == ["old", "old", "new"], outcomes
    print("kill outcomes:", [(w if isinstance(w, str) else round(w, 2), v, f) for w, v, f in outcomes])

    with open(store_dir / ".lock", "a+") as lock:  # no builder holds the lock any more
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(lock, fcntl.LOCK_UN)
    # The next build recovers. (A new version of the files: after a kill past the switch to
    # CURRENT the store already matches them, and nothing would be built.)
    wanted = not served(store_dir)[1]
    probe.write_text(PROBE if wanted else NO_PROBE, encoding="utf-8")
    assert coderef(["reload", "--root", str(root_copy)]) == 0
    assert served(store_dir) == (base + wanted, wanted)
    leftovers = [p.name for p in store_dir.iterdir() if p.name.startswith((".build-", ".CURRENT."))]
    assert leftovers == [], leftovers
    assert all((p / MANIFEST).is_file() for p in store_dir.iterdir() if p.is_dir()), "a half build was kept"
