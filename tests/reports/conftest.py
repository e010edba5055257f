"""The report tests' graphs, made once a session: the harness's two and the rare cases."""

import pytest

from server import reports
from support import report_cases
from support import reports_diff as rd


@pytest.fixture(scope="session")
def report_graphs(tmp_path_factory) -> dict:
    """name -> pyoxigraph Store: "shipped", "generated" and the graphs of support.report_cases."""
    root = str(tmp_path_factory.mktemp("report-graphs"))
    return {**rd.graphs(root), **report_cases.graphs(root)}


@pytest.fixture(scope="session")
def report_db(report_graphs):
    """report_db(question id, graph name): the report's tables filled from that graph, made once."""
    made = {}

    def db(question_id: str, graph: str):
        if (question_id, graph) not in made:
            made[question_id, graph] = rd.report_db(report_graphs[graph], reports.modules()[question_id])
        return made[question_id, graph]

    return db
