"""The first page (search box and question catalogue) and the search results page."""

from flask import Blueprint, redirect, render_template, request

from ..extensions import get_store

bp = Blueprint("home", __name__)

SEARCH_LIMIT = 50

# Audience tags of the catalogue, in the order the first page shows them.
AUDIENCES = (
    ("educators", "For coding educators", "How a code relates to other codes, services, modifiers, diagnoses and settings."),
    ("policy", "For payer-policy and revenue-cycle teams", "What payers say, whether the reference is consistent and sourced."),
)


def catalogue_by_audience(questions) -> list[dict]:
    """The questions grouped by audience tag; a question with no known tag goes under "Other"."""
    groups = [{"tag": tag, "title": title, "blurb": blurb, "questions": []} for tag, title, blurb in AUDIENCES]
    by_tag = {group["tag"]: group for group in groups}
    other = {"tag": "other", "title": "Other questions", "blurb": "", "questions": []}
    for question in questions:
        tags = [t for t in (question.tags or []) if t in by_tag]
        for tag in tags:
            by_tag[tag]["questions"].append(question)
        if not tags:
            other["questions"].append(question)
    return [g for g in groups + [other] if g["questions"]]


@bp.get("/")
def index():
    from ..extensions import get_catalogue  # noqa: PLC0415 (the questions module loads queries/ once)

    questions = sorted(get_catalogue().questions.values(), key=lambda q: q.id)
    return render_template("home/index.html", groups=catalogue_by_audience(questions))


def match_reason(match: str | None) -> str | None:
    """Why a code was found, in words: "notation", "description", "indication E10.649"."""
    if not match:
        return None
    if match.startswith("indication "):
        return f"supported by diagnosis {match[len('indication '):]}"
    if match.startswith("product "):
        return f"the way {match[len('product '):]} is given"
    return f"matches its {match}"


@bp.get("/search")
def search():
    from ...search import exact_page, search_codes  # noqa: PLC0415

    q = request.args.get("q", "").strip()
    results = search_codes(get_store(), q, SEARCH_LIMIT) if q else []
    page = exact_page(results, q) if q and request.args.get("all") is None else None
    if page:  # an exact notation goes to its page; ?all=1 keeps the list
        scheme, _, notation = page.rpartition("/")
        return redirect(f"/codes/{page}" if scheme in ("modifier", "pos") else f"/codes/{notation}")
    results = [dict(r, reason=match_reason(r.get("match"))) for r in results]
    return render_template("home/search.html", q=q, results=results, limit=SEARCH_LIMIT)
