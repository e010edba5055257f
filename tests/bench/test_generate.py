"""benchmarks/generate.py: the synthetic coding graphs the benchmarks measure are realistic
where it matters (they conform to shapes/, a payer has a bounded number of positions on a
code) and reproducible; violations are injected only when asked for, where asked for."""

import sys
from collections import Counter

import pyoxigraph as ox
import pytest

from server import config as cfg
from server.validate.engine import validate

CR = "https://w3id.org/coderef/ontology#"


@pytest.fixture(scope="module")
def generate(repo_root):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    import generate

    return generate


@pytest.fixture(scope="module")
def clean(generate, tmp_path_factory):
    path = tmp_path_factory.mktemp("generated") / "synthetic.ttl"
    return path, generate.write(20_000, path)


def test_sizes_read_as_people_write_them(generate):
    assert [generate.parse_size(s) for s in ("10k", "100k", "1m", "1M", "2.5k", "250k", "5000")] == [
        10_000, 100_000, 1_000_000, 1_000_000, 2_500, 250_000, 5_000]


def test_size_and_counts_as_asked(clean):
    path, summary = clean
    quads = list(ox.parse(path=str(path)))
    assert 20_000 <= summary["triples"] <= 22_000
    assert len(quads) == len(set(quads)) == summary["triples"], "the triples counted are the triples written"
    assert summary["injected"] == {}


def test_clean_graph_conforms_beside_the_reference(clean):
    path, _ = clean
    report = validate([path, cfg.folder(cfg.resolve(), "DATA_DIR")], settings=cfg.resolve())
    assert report.conforms and report.results == [], report.results[:3]


def test_positions_per_payer_and_code_are_bounded(clean):
    """What made the conflict check quadratic before: every copy stated positions on the
    same codes. A payer states a few versions of one policy on a code."""
    path, _ = clean
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    per = Counter((r["payer"].value, r["code"].value) for r in store.query(
        f"SELECT ?payer ?code WHERE {{ ?p <{CR}payer> ?payer ; <{CR}appliesTo> ?code }}"))
    assert max(per.values()) <= 6  # three versions, each split by two contexts at most


def test_same_seed_same_graph(generate, tmp_path):
    a, b = tmp_path / "a.ttl", tmp_path / "b.ttl"
    generate.write(3000, a, seed=7)
    generate.write(3000, b, seed=7)
    assert a.read_bytes() == b.read_bytes()


def test_violations_injected_as_asked(generate, tmp_path):
    summary = generate.write(3000, tmp_path / "broken.ttl", violations=2)
    assert summary["injected"] == {kind: 2 for kind in generate.INJECTED}
