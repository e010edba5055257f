"""Our own words (issue 15): no text of data/ shares a run of six or more words with the
descriptor texts the fact sheet's sources give, checked against their fingerprints
(data/wording/descriptor-fingerprints.tsv) so that those texts stay out of the repository.

The copies the checker must catch are the labels this reference used to carry (the AMA's
wording of 36481 and G0341, as the sources print it), named here by the runs a test expects
to find, which is as much of them as the test needs.
"""

import re

import pyoxigraph as ox
import pytest

from server.authoring import wording
from server.cli import main as coderef

PRINTS_FILE = "data/wording/descriptor-fingerprints.tsv"


@pytest.fixture(scope="module")
def prints(repo_root) -> dict:
    return wording.read_fingerprints(repo_root / PRINTS_FILE)


def data_files(root):
    return sorted((root / "data").rglob("*.ttl"))


def test_every_text_of_the_data_is_our_own_words(repo_root, prints):
    copies = wording.find_copies(data_files(repo_root), prints)
    assert not copies, "\n".join(map(str, copies))


def test_the_labels_we_used_to_carry_are_caught(prints):
    """The old 36481 label was the descriptor word for word; the old G0341 label differed by
    one word form; a British respelling changes nothing."""
    [(run, source)] = wording.shared_runs("Percutaneous portal vein catheterization by any method", prints)
    assert run == "percutaneous portal vein catheterization by any method" and "genhealth.ai" in source
    assert wording.shared_runs("Percutaneous portal vein catheterisation, by any method.", prints)
    [(run, _)] = wording.shared_runs("Laparotomy for islet cell transplant, including portal vein catheterization and infusion", prints)
    assert run.startswith("laparotomy for islet cell transplant") and run.endswith("catheterization and infusion")


def test_five_shared_words_are_not_a_copy(prints):
    assert not wording.shared_runs("We place a percutaneous portal vein catheter here.", prints)
    assert not wording.shared_runs("", prints)


def test_the_fingerprint_file_holds_no_text(repo_root, prints):
    """Hashes and addresses only; and every address is one of the reference's own sources
    (or the fact sheet, for the two codes no source text was retrieved for)."""
    text = (repo_root / PRINTS_FILE).read_text(encoding="utf-8")
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(body) == len(prints) > 500
    assert all(re.fullmatch(r"[0-9a-f]{16}\t\S+", line) for line in body)
    sources = ox.Store()
    sources.load(path=str(repo_root / "data" / "sources.ttl"), format=ox.RdfFormat.TURTLE)
    addresses = {q.object.value for q in sources.quads_for_pattern(None, ox.NamedNode("https://schema.org/url"), None)}
    for address in set(prints.values()):
        assert address in addresses or address == "file:../shared/reference/factsheet.txt", address


def test_check_wording_command_passes_on_the_data(capsys):
    assert coderef(["check-wording"]) == 0
    assert "every text is our own words" in capsys.readouterr().err


def test_check_wording_names_the_file_and_line_of_a_copy(root_copy, capsys):
    """Put the old 36481 label back, in a copy of the data: exit 1, with its file and line."""
    family = root_copy / "data" / "family.ttl"
    text = family.read_text(encoding="utf-8")
    edited = re.sub(r'(cpt:36481 a cr:ProcedureCode ;\n    skos:notation "36481" ;\n    skos:prefLabel )"[^"]*"',
                    r'\1"Percutaneous portal vein catheterization by any method"', text)
    assert edited != text
    family.write_text(edited, encoding="utf-8")
    # the copy of data/ holds the fingerprint file too: the default is found under --root
    code = coderef(["check-wording", "--root", str(root_copy)])
    out = capsys.readouterr()
    assert code == 1
    line = edited[:edited.index("Percutaneous portal vein catheterization")].count("\n") + 1
    assert f"family.ttl:{line}: <https://w3id.org/coderef/id/cpt/36481> <http://www.w3.org/2004/02/skos/core#prefLabel>" in out.out
    assert '"percutaneous portal vein catheterization by any method"' in out.out
    assert "1 shared runs" in out.err


def test_fingerprints_are_built_from_texts_kept_elsewhere(tmp_path, capsys):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "one.txt").write_text("https://example.org/code/12345-a-made-up-descriptor\n"
                                   "A made up descriptor text of more than six words in all.\n", encoding="utf-8")
    out = tmp_path / "prints.tsv"
    assert coderef(["check-wording", "--build", str(texts), "--fingerprints", str(out)]) == 0
    prints = wording.read_fingerprints(out)
    assert wording.shared_runs("Here is a made up descriptor text of ours", prints)
    assert "made up descriptor" not in out.read_text(encoding="utf-8")
    assert all(a == "https://example.org/code/12345-a-made-up-descriptor" for a in prints.values())


def test_a_text_without_its_address_is_refused_and_nothing_written(tmp_path, capsys):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "bad.txt").write_text("no address here\nsome text\n", encoding="utf-8")
    out = tmp_path / "prints.tsv"
    assert coderef(["check-wording", "--build", str(texts), "--fingerprints", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.txt, line 1: the first line must be the source's address" in err
    assert not out.exists()


def test_each_quoted_exception_is_in_the_data_with_its_reason(repo_root):
    """The texts quoted on purpose (a publication's own title) are few, named one by one, and
    still there: an exception cannot outlive its text or grow unseen."""
    graph = ox.Store()
    for path in data_files(repo_root):
        graph.load(path=str(path), format=ox.RdfFormat.TURTLE)
    assert 0 < len(wording.QUOTED) <= 3
    for (subject, predicate), reason in wording.QUOTED.items():
        assert reason.strip()
        assert list(graph.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)), subject
