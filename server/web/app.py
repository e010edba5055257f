"""The Flask application factory: settings, the graph and questions, blueprints, cache, error pages."""

from flask import Flask, jsonify, render_template, request

from .. import config as cfg
from ..errors import CoderefError
from . import cache, extensions


def wants_json() -> bool:
    """API paths and clients that prefer JSON get the JSON error shape."""
    if request.path.startswith(("/api/", "/sparql", "/fhir")):
        return True
    if request.accept_mimetypes.provided and not request.accept_mimetypes.accept_html:
        return True  # a program that takes no HTML (e.g. asks for JSON-LD) gets the JSON shape
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(message: str, status: int):
    if wants_json():
        return jsonify({"ok": False, "error": message, "status": status}), status
    return render_template("error.html", message=message, status=status), status


# Modules of server/web/views/ that hold a blueprint `bp`, registered in this order.
VIEWS = ("home", "api", "sparql", "linked_data", "pages", "claims", "changes", "consistency", "status", "codes",
         "docs", "fhir")


def blueprints():
    import importlib

    for name in VIEWS:
        try:
            module = importlib.import_module(f".views.{name}", __package__)
        except ModuleNotFoundError as err:
            if err.name == f"{__package__}.views.{name}":
                continue
            raise
        yield module.bp


def create_app(config=None) -> Flask:
    """Defaults, then the environment, then the test's mapping."""
    app = Flask(__name__)
    app.config.update(cfg.resolve(config))
    app.json.sort_keys = False

    extensions.init_app(app)  # bad data or a question file that does not parse stops the start-up here

    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    cache.init_app(app)

    @app.errorhandler(CoderefError)
    def coderef_error(err):
        return error_response(err.message, err.status)

    @app.errorhandler(404)
    def not_found(err):
        return error_response(f"nothing at {request.path}", 404)

    @app.errorhandler(405)
    def method_not_allowed(err):
        return error_response(f"{request.method} is not allowed on {request.path}", 405)

    @app.errorhandler(413)
    def too_large(err):
        limit = app.config["MAX_CONTENT_LENGTH"]
        return error_response(f"request body over the {limit}-byte limit", 413)

    return app
