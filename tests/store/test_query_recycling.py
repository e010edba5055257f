"""A query process that a big answer left large is replaced after answering
(QUERY_PROCESS_GROWTH_MB, server/store/isolation.py): Oxigraph's hash tables and sort buffers go
back to the allocator, not to the system, so at 1M triples one whole-graph question left a
query process at ~340 MB for as long as it lived. Real child processes over the shipped data.
"""

import os

import pytest

from server import config as cfg
from server.store import isolation
from server.store.isolation import QueryProcesses

pytestmark = pytest.mark.embedded_only

ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
ONE = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
       "SELECT ?label WHERE { ?code skos:notation '0584T' ; skos:prefLabel ?label }")


def pool(growth_mb: float) -> QueryProcesses:
    settings = cfg.resolve({"QUERY_PROCESS_GROWTH_MB": growth_mb, "QUERY_PROCESSES": 1})
    return QueryProcesses(("files", cfg.data_files(settings)), settings)


def the_child(processes: QueryProcesses) -> int:
    assert len(processes._idle) == 1
    return processes._idle[0].pid


@pytest.fixture
def sizes(monkeypatch):
    """The parent's reading of a child's resident size: 60 MB when ready, then `after`."""
    state = {"after": 60.0, "ready": set()}

    def resident(pid):
        if pid not in state["ready"]:
            state["ready"].add(pid)
            return 60.0
        return state["after"]

    monkeypatch.setattr(isolation, "_resident_mb", resident)
    return state


def test_a_child_grown_past_the_limit_is_replaced_and_the_answer_kept(sizes):
    processes = pool(100)
    try:
        first = processes.run("select", ONE)
        before = the_child(processes)
        sizes["after"] = 400.0  # what a whole-graph question at 1M left behind
        rows = processes.run("select", ALL).rows
        assert len(rows) > 3000  # the answer of the big query still arrives whole
        assert processes.retired == [before]
        assert not os.path.exists(f"/proc/{before}")
        after = the_child(processes)
        assert after != before
        sizes["after"] = 60.0
        assert processes.run("select", ONE).rows == first.rows  # the fresh child answers
        assert the_child(processes) == after and processes.retired == [before]
    finally:
        processes.close()


def test_a_child_within_the_limit_or_with_recycling_off_is_kept(sizes):
    for growth, after in ((100, 150.0), (0, 4000.0)):
        processes = pool(growth)
        try:
            processes.run("select", ONE)
            child = the_child(processes)
            sizes["after"] = after
            processes.run("select", ALL)
            assert the_child(processes) == child and processes.retired == []
        finally:
            processes.close()


def test_resident_size_is_read_from_proc():
    assert 5 < isolation._resident_mb(os.getpid()) < 100_000
    assert isolation._resident_mb(2**31) == 0.0  # no such process
