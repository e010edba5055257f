"""Issue 16: the /questions catalogue, the API read by people (Swagger UI served from its package,
no CDN), and errors that point at pages in a coder's words."""

import re

import pytest


def test_the_questions_page_lists_every_question_with_its_page(app, client):
    response = client.get("/questions")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    links = set(re.findall(r'<dt><a href="/questions/([a-z_]+)">', html))
    assert links == {q.id for q in app.extensions["coderef.questions"]}
    assert "For coding educators" in html and "For payer-policy" in html


def test_the_api_page_loads_its_viewer_from_this_site(client):
    html = client.get("/docs/api").get_data(as_text=True)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert 'data-spec="/api/openapi.json"' in html
    for src in sources:
        assert client.get(src).status_code == 200, src


@pytest.mark.parametrize("name", ["index.html", "..%2Fcore.py", "swagger-editor.js"])
def test_the_viewer_serves_only_its_own_files(client, name):
    assert client.get(f"/docs/api/viewer/{name}").status_code == 404


def test_an_error_page_links_the_pages_it_names(client):
    html = client.get("/questions/modifiers?code=22").get_data(as_text=True)
    alert = html.split('role="alert"', 1)[1].split("</p>", 1)[0]
    assert alert.startswith("><strong>Error 400</strong> Code: ") and "parameter" not in alert
    assert '<a href="/codes/modifier/22">/codes/modifier/22</a>' in alert


def test_a_404_offers_a_search_and_the_catalogue(client):
    html = client.get("/codes/9999T").get_data(as_text=True)
    assert 'href="/search?q=9999T"' in html and 'href="/questions"' in html


def test_messages_point_at_pages_not_json(client):
    html = client.get("/questions/payer_gaps?payer=nobody").get_data(as_text=True)
    assert "/api/payers" not in html and '<a href="/coverage">/coverage</a>' in html


def test_a_path_in_a_message_is_linked_and_the_rest_escaped():
    from markupsafe import Markup

    from server.web.links import linked_paths

    out = linked_paths("<b>see</b> /codes/modifier/22.")
    assert isinstance(out, Markup)
    assert str(out) == '&lt;b&gt;see&lt;/b&gt; <a href="/codes/modifier/22">/codes/modifier/22</a>.'


def test_changes_offers_baselines_and_refuses_others(client):
    html = client.get("/changes").get_data(as_text=True)
    revisions = re.findall(r'<option value="([0-9a-f]{40})"', html)
    assert revisions, "the repository's data commits are offered"
    assert client.get(f"/changes?since={revisions[-1]}").status_code == 200
    response = client.get("/changes?since=--output=/tmp/x")
    assert response.status_code == 400 and "Compare with" in response.get_data(as_text=True)


def test_changes_fold_what_was_only_added(client):
    html = client.get("/changes").get_data(as_text=True)
    by_code = html.split('id="by-code"', 1)[1] if 'id="by-code"' in html else ""
    if "new thing" in by_code:
        folded = re.findall(r'<details class="new-things"><summary>(\d+) new thing', by_code)
        assert folded and all(int(n) > 0 for n in folded)
        assert ": new " not in by_code.split('<details class="new-things">', 1)[0].rsplit("<h3>", 1)[-1]


def test_the_code_page_opens_with_a_glance(client):
    html = client.get("/codes/0584T").get_data(as_text=True)
    glance = html.split('aria-label="At a glance"', 1)[1].split("</ul>", 1)[0]
    assert 'href="#bundled">Includes 9 services' in glance and 'href="#coverage">' in glance
    assert html.index('aria-label="At a glance"') < html.index('id="diagram"')
    assert html.count("<details open>") >= 5  # every section folds
