"""Reading answers in tests: a question run through the app's own catalogue and store."""


def run(app, qid, **params):
    """The records of one answer, through the app's own catalogue and store."""
    catalogue = app.extensions["coderef.questions"]
    store = app.extensions["coderef.graph"].store
    return catalogue.run(store, qid, params).records()


def facts(app, qid, **params):
    """The rows of one answer as the JSON API gives them: one per fact, its sources gathered."""
    catalogue = app.extensions["coderef.questions"]
    store = app.extensions["coderef.graph"].store
    return catalogue.run(store, qid, params, gathered=True).as_json()["rows"]


def where(records, **match):
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def column(records, name) -> set:
    return {r[name] for r in records if r.get(name) is not None}
