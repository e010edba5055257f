"""Engine forms (server/store/dialect.py): a question's form for one engine answers with the
question's columns and takes its parameters; a form with no question is a config error."""

import pyoxigraph as ox
import pytest

from server import config as cfg
from server.errors import ConfigError
from server.questions import load_catalogue
from server.store.dialect import DIALECTS, query_key

QUERIES = cfg.REPO_ROOT / "queries"


def forms():
    return [(name, path) for name in DIALECTS for path in sorted((QUERIES / name).glob("*.rq"))]


def columns(query: str) -> list[str]:
    return [v.value for v in ox.Store().query(query).variables]


@pytest.mark.parametrize("dialect, path", forms(), ids=lambda v: getattr(v, "stem", v))
def test_a_form_answers_as_its_question(dialect, path):
    question = load_catalogue(QUERIES).get(path.stem)
    form = path.read_text(encoding="utf-8")
    assert columns(form) == list(question.columns)
    # Its parameters are variables of the form's outer WHERE group, as the question's are.
    where = form[form.index("WHERE"):]
    for param in question.params:
        for name in param.variables:
            assert f"?{name}" in where, (path.name, name)
    assert query_key(form) != query_key(question.query)
    assert DIALECTS[dialect].forms_in(QUERIES)[query_key(question.query)] == form


def test_there_is_a_form_to_test():
    assert forms(), "queries/virtuoso/ holds Virtuoso's forms; the test above checks each"


def test_a_form_is_found_whatever_the_comments_and_spacing():
    assert query_key("# a comment\nSELECT ?a\n  WHERE { ?a ?b ?c }\n") == query_key("SELECT ?a WHERE {\n?a ?b ?c }")
    assert query_key("SELECT ?a WHERE { ?a ?b ?c }") != query_key("SELECT ?b WHERE { ?a ?b ?c }")


def test_a_form_with_no_question_is_a_config_error(tmp_path):
    (tmp_path / "virtuoso").mkdir()
    (tmp_path / "virtuoso" / "gone.rq").write_text("SELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gone\.rq: virtuoso's form of a question that is not there"):
        DIALECTS["virtuoso"].forms_in(tmp_path)


def test_the_standard_dialect_reads_no_folder(tmp_path):
    (tmp_path / "virtuoso").mkdir()
    (tmp_path / "virtuoso" / "gone.rq").write_text("SELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    assert DIALECTS["standard"].forms_in(tmp_path) == {}
