"""Pages about the site itself: the /questions catalogue, and the API read as people read it (Swagger UI from its Python package).

The viewer's files come from the installed `swagger-ui-py` package and are served from
here: nothing is fetched from a CDN, so the docs work offline and on a closed network.
"""

from pathlib import Path

from flask import Blueprint, abort, render_template, send_from_directory, url_for

bp = Blueprint("docs", __name__)

# The viewer's files the page loads; nothing else of the package's folder is served.
VIEWER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js",
                "favicon-16x16.png", "favicon-32x32.png")


def viewer_folder() -> Path:
    import swagger_ui  # noqa: PLC0415 (only the docs page needs it)

    return Path(swagger_ui.__file__).resolve().parent / "static"


@bp.get("/questions")
def questions():
    from ..extensions import get_catalogue  # noqa: PLC0415
    from .home import catalogue_by_audience  # noqa: PLC0415

    catalogue = sorted(get_catalogue(), key=lambda q: q.summary.lower())
    return render_template("docs/questions.html", groups=catalogue_by_audience(catalogue), total=len(catalogue))


@bp.get("/docs/api")
def api_docs():
    return render_template("docs/api.html", spec_url=url_for("api.openapi"))


@bp.get("/docs/api/viewer/<name>")
def viewer_file(name):
    if name not in VIEWER_FILES:
        abort(404)
    return send_from_directory(viewer_folder(), name, max_age=86400)
