"""The app's resources, opened once and handed out per request: the live graph and the questions.

Like the Flask tutorial's db.py: `init_app(app)` registers them and `get_store()` /
`get_catalogue()` hand them to a view.
"""

from flask import current_app

from .. import config as cfg
from ..graph.live import Holder
from ..questions import Catalogue, check_cache, load_catalogue


def init_app(app) -> None:
    """Load the graph (a failed first load raises, naming file and line) and the questions."""
    init_graph(app)
    init_questions(app)


def init_graph(app) -> None:
    holder = Holder(app.config)
    holder.load()
    app.extensions["coderef.graph"] = holder


def init_questions(app) -> None:
    """The catalogue of queries/ (a question file that does not parse stops the start-up
    here), its check cache beside the store folder."""
    app.extensions["coderef.questions"] = load_catalogue(cfg.folder(app.config, "QUERIES_DIR"),
                                                         check_cache(app.config))


def get_store():
    """The store of the current application, reloaded first if its files changed."""
    holder = current_app.extensions["coderef.graph"]
    holder.refresh()
    return holder.store


def get_catalogue() -> Catalogue:
    return current_app.extensions["coderef.questions"]
