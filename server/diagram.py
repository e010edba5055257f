"""The picture of a code's relationships: DOT built here, laid out and drawn by Graphviz.

Every text that comes from the data reaches DOT through `dot_text`, which disables the
DOT meanings of backslashes (escString sequences such as \\N or \\l) and of `<...>`
(HTML-like labels), and the python `graphviz` package quotes it. Node identifiers are
synthetic (n0, n1, ...) so no data ends up in the SVG's ids, titles or comments; Graphviz
itself XML-escapes label text when it writes SVG. That is why the SVG may be inlined.
"""

import functools
import re
import textwrap
from urllib.parse import quote, unquote

import graphviz

# Per kind of node: shape, fill, border (the page's legend uses the same colours).
STYLES = {
    "code": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#17324d", "color": "#17324d", "fontcolor": "#ffffff"},
    "procedure": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbe8f5", "color": "#5b7fa6"},
    "component": {"shape": "box", "style": "filled", "fillcolor": "#f3f0e6", "color": "#a89a6a"},
    "diagnosis": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e4f2e7", "color": "#5a9a68"},
    "modifier": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f1e6f5", "color": "#8b63a0"},
    "site": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e9eef2", "color": "#7b8a99"},
    "payer": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff4dc", "color": "#c49a3a"},
}

MAX_LABEL = 160  # characters of one label; a diagram is a map, the page has the text
WRAP = 34  # characters per line


def dot_text(text: str, width: int = WRAP) -> str:
    """A label for DOT: whitespace folded, shortened, wrapped, and escaped so that Graphviz
    shows exactly these characters."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1].rstrip() + "…"
    lines = textwrap.wrap(text, width) or [""]
    # "\n" here is DOT's own line break, added after the data's backslashes were doubled.
    return graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


def safe_href(href: str) -> str:
    """A local path percent-encoded down to characters that need no escaping anywhere:
    Graphviz copies href into the SVG attribute without escaping quotes."""
    if not href.startswith("/") or href.startswith("//"):
        raise ValueError(f"diagram links stay on this site: {href!r}")
    return quote(unquote(href), safe="/-._~#")


class Diagram:
    """Nodes and edges with synthetic ids; `svg()` asks Graphviz's `dot` to draw them."""

    def __init__(self):
        self.graph = graphviz.Digraph(
            "relationships",
            graph_attr={"rankdir": "LR", "bgcolor": "transparent", "fontname": "DejaVu Sans",
                        "nodesep": "0.18", "ranksep": "0.5"},
            node_attr={"fontname": "DejaVu Sans", "fontsize": "10", "margin": "0.12,0.06", "target": "_top"},
            edge_attr={"fontname": "DejaVu Sans", "fontsize": "9", "color": "#7b8a99", "fontcolor": "#4a5a6a",
                       "arrowsize": "0.7"},
        )
        self._ids: dict[object, str] = {}

    def node(self, key, label: str, kind: str, href: str | None = None) -> str:
        """The node for `key`, added on first use. `href` is a path on this site."""
        if key in self._ids:
            return self._ids[key]
        node_id = f"n{len(self._ids)}"
        self._ids[key] = node_id
        attrs = dict(STYLES[kind])
        if href:
            attrs["href"] = safe_href(href)
        self.graph.node(node_id, label=dot_text(label), **attrs)
        return node_id

    def edge(self, tail: str, head: str, label: str = "", dashed: bool = False):
        attrs = {"label": dot_text(label, 24)} if label else {}
        if dashed:
            attrs["style"] = "dashed"
        self.graph.edge(tail, head, **attrs)

    @property
    def source(self) -> str:
        return self.graph.source

    def svg(self) -> str:
        return render_svg(self.source)


@functools.lru_cache(maxsize=256)
def render_svg(source: str) -> str:
    """SVG markup drawn by `dot`, without the XML prolog so it can sit inside HTML."""
    svg = graphviz.pipe("dot", "svg", source.encode("utf-8")).decode("utf-8")
    return svg[svg.index("<svg"):]


def _join(items, limit=8) -> str:
    items = [i for i in items if i]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def code_diagram(record: dict, href_for) -> Diagram:
    """The relationships of one code, from its record (server.codes.describe_code):
    bundled components and the codes that would report them alone, related codes, codes
    that include it, and one summary node each for indications, modifiers, sites of
    service and payer positions. `href_for(iri)` is the local page of an IRI (or None);
    summary nodes link to their section of the code page."""
    notation = record["notation"] or ""
    page = href_for(record["iri"]) or ""
    diagram = Diagram()
    centre = diagram.node(record["iri"], f"{notation} {record.get('label') or ''}", "code")

    for bundle in record.get("bundledServices", []):
        component = diagram.node(("component", bundle["iri"]), bundle.get("label") or "bundled service", "component",
                                 page + "#bundled")
        diagram.edge(centre, component, "includes")
        for alone in bundle.get("reportedAloneBy", []):
            target = diagram.node(alone["iri"], f"{alone.get('notation')} {alone.get('label') or ''}", "procedure",
                                  href_for(alone["iri"]))
            diagram.edge(component, target, f"not separately reportable with {notation}", dashed=True)

    for included in record.get("includedIn", []):
        other = included["code"]
        source = diagram.node(other["iri"], f"{other.get('notation')} {other.get('label') or ''}", "procedure",
                              href_for(other["iri"]))
        diagram.edge(source, centre, "includes this")

    for relation in record.get("relatedCodes", []):
        other = relation["code"]
        target = diagram.node(other["iri"], f"{other.get('notation')} {other.get('label') or ''}", "procedure",
                              href_for(other["iri"]))
        kind = (relation.get("relationType") or {}).get("label") or "related"
        diagram.edge(centre, target, kind)

    roles: dict = {}
    for indication in record.get("indications", []):
        role = (indication.get("role") or {}).get("label") or "indication"
        roles.setdefault(role, []).append(indication["diagnosis"].get("notation"))
    for role, notations in roles.items():
        target = diagram.node(("indications", role), f"ICD-10-CM: {_join(sorted(set(notations)))}", "diagnosis",
                              page + "#indications")
        diagram.edge(centre, target, role)

    modifiers = sorted({usage["modifier"].get("notation") for usage in record.get("modifiers", [])} - {None})
    if modifiers:
        target = diagram.node("modifiers", f"Modifiers {_join(modifiers, 20)}", "modifier", page + "#modifiers")
        diagram.edge(centre, target, "modifiers")

    sites: dict = {}
    for site in record.get("sitesOfService", []):
        role = (site.get("role") or {}).get("label") or "site"
        pos = site.get("placeOfService")
        name = f"POS {pos.get('notation')}" if pos else (site.get("setting") or {}).get("label")
        if site.get("payer") and site["payer"].get("name"):
            name = f"{name} ({site['payer']['name']})"
        sites.setdefault(role, []).append(name)
    for role, names in sites.items():
        target = diagram.node(("sites", role), _join(names), "site", page + "#sites")
        diagram.edge(centre, target, role, dashed="excluded" in role)

    statuses: dict = {}
    for position in record.get("payerPositions", []):
        status = (position.get("status") or {}).get("label") or "position"
        payer = (position.get("payer") or {}).get("name")
        if payer and payer not in statuses.setdefault(status, []):
            statuses[status].append(payer)
    for status, payers in statuses.items():
        target = diagram.node(("payers", status), _join(payers, 6), "payer", page + "#coverage")
        diagram.edge(centre, target, status)
    return diagram
