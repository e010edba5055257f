"""The first page: the codes of the reference."""

from flask import Blueprint, render_template

from ..graph import get_store
from ..namespaces import sparql_prefixes

bp = Blueprint("home", __name__)

CODES = sparql_prefixes() + """
SELECT ?code ?notation ?label ?scheme ?schemeLabel WHERE {
  ?code a cr:ProcedureCode ; skos:notation ?notation ; skos:prefLabel ?label ;
        cr:codeSystem ?scheme .
  ?scheme skos:prefLabel ?schemeLabel .
} ORDER BY ?schemeLabel ?notation
"""


@bp.get("/")
def index():
    rows = get_store().select(CODES).rows
    return render_template("home/index.html", codes=rows)
