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
    "hub": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#17324d", "fontcolor": "#17324d"},
}

MAX_LABEL = 160  # characters of one label; a diagram is a map, the page has the text
WRAP = 26  # characters per line: narrow boxes keep the picture near the page width


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
                        "nodesep": "0.14", "ranksep": "0.35"},
            node_attr={"fontname": "DejaVu Sans", "fontsize": "10", "margin": "0.12,0.06", "target": "_top"},
            edge_attr={"fontname": "DejaVu Sans", "fontsize": "9", "color": "#7b8a99", "fontcolor": "#4a5a6a",
                       "arrowsize": "0.7"},
        )
        self._ids: dict[object, str] = {}
        self._clusters: dict[str, graphviz.Digraph] = {}

    def cluster(self, label: str) -> str:
        """A framed group of nodes titled `label`; its name, for `node(..., cluster=)`."""
        name = f"cluster_{len(self._clusters)}"
        self._clusters[name] = graphviz.Digraph(
            name, graph_attr={"label": dot_text(label, 60), "labeljust": "l", "style": "rounded,dashed",
                              "color": "#a89a6a", "fontcolor": "#6b5d2e", "fontsize": "10"})
        return name

    def node(self, key, label: str, kind: str, href: str | None = None, cluster: str | None = None) -> str:
        """The node for `key`, added on first use. `href` is a path on this site."""
        if key in self._ids:
            return self._ids[key]
        node_id = f"n{len(self._ids)}"
        self._ids[key] = node_id
        attrs = dict(STYLES[kind])
        if href:
            attrs["href"] = safe_href(href)
        (self._clusters[cluster] if cluster else self.graph).node(node_id, label=dot_text(label), **attrs)
        return node_id

    def edge(self, tail: str, head: str, label: str = "", dashed: bool = False, back: bool = False):
        """An arrow from tail to head; `back` draws it from head to tail while dot still
        ranks tail before head (how things that the code includes stand on its left)."""
        attrs = {"label": dot_text(label, 16)} if label else {}
        if dashed:
            attrs["style"] = "dashed"
        if back:
            attrs["dir"] = "back"
        self.graph.edge(tail, head, **attrs)

    @property
    def source(self) -> str:
        graph = self.graph.copy()
        for cluster in self._clusters.values():
            graph.subgraph(cluster)
        return graph.source

    def svg(self) -> str:
        return render_svg(self.source)


@functools.lru_cache(maxsize=256)
def render_svg(source: str) -> str:
    """SVG markup drawn by `dot`, without the XML prolog so it can sit inside HTML, and
    without the <title> elements, which hold only the synthetic ids (n0, n0->n1) and would
    pop up as tooltips."""
    svg = graphviz.pipe("dot", "svg", source.encode("utf-8")).decode("utf-8")
    return re.sub(r"<title>[^<]*</title>\s*", "", svg[svg.index("<svg"):])


def _join(items, limit=8, budget=110) -> str:
    """Items joined by commas until `limit` items or `budget` characters, then "and N more"
    (a label cut in the middle of a name reads as a different name)."""
    items = [i for i in items if i]
    shown: list[str] = []
    for item in items[:limit]:
        if shown and len(", ".join(shown + [item])) > budget:
            break
        shown.append(item)
    more = f" and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
    return ", ".join(shown) + more


def code_diagram(record: dict, href_for) -> Diagram:
    """The relationships of one code, from its record (server.codes.describe_code).

    Left of the code, what it includes: its bundled components and, further left, the codes
    that would report them alone (so not separately reportable with it), and the codes that
    include it. Right of it: related codes and modifiers, then one hub per group
    (indications, sites of service, payer coverage) fanning out to one node per role or
    status. Spreading the groups over ranks keeps the picture about as wide as it is tall.
    `href_for(iri)` is the local page of an IRI (or None); hub and summary nodes link to
    their section of the code page."""
    notation = record["notation"] or ""
    page = href_for(record["iri"]) or ""
    diagram = Diagram()
    centre = diagram.node(record["iri"], f"{notation} {record.get('label') or ''}", "code")

    def hub(key, label, anchor):
        node = diagram.node(("hub", key), label, "hub", page + anchor)
        diagram.edge(centre, node)
        return node

    bundled = diagram.cluster(f"Included in {notation}") if record.get("bundledServices") else None
    for bundle in record.get("bundledServices", []):
        component = diagram.node(("component", bundle["iri"]), bundle.get("label") or "bundled service", "component",
                                 page + "#bundled", cluster=bundled)
        diagram.edge(component, centre, back=True)
        for alone in bundle.get("reportedAloneBy", []):
            target = diagram.node(alone["iri"], f"{alone.get('notation')} {alone.get('label') or ''}", "procedure",
                                  href_for(alone["iri"]))
            diagram.edge(target, component, "not separately reportable", dashed=True, back=True)

    for included in record.get("includedIn", []):
        other = included["code"]
        source = diagram.node(other["iri"], f"{other.get('notation')} {other.get('label') or ''}", "procedure",
                              href_for(other["iri"]))
        diagram.edge(source, centre, f"includes what {notation} reports", dashed=True)

    for relation in record.get("relatedCodes", []):
        other = relation["code"]
        target = diagram.node(other["iri"], f"{other.get('notation')} {other.get('label') or ''}", "procedure",
                              href_for(other["iri"]))
        kind = (relation.get("relationType") or {}).get("label") or "related"
        diagram.edge(centre, target, kind)

    for support in record.get("supports", []):
        procedure = support["code"]
        target = diagram.node(procedure["iri"], f"{procedure.get('notation')} {procedure.get('label') or ''}",
                              "procedure", href_for(procedure["iri"]))
        diagram.edge(centre, target, f"{(support.get('role') or {}).get('label') or 'indication'} for")

    modifiers = sorted({usage["modifier"].get("notation") for usage in record.get("modifiers", [])} - {None})
    if modifiers:
        target = diagram.node("modifiers", f"Modifiers {_join(modifiers, 20)}", "modifier", page + "#modifiers")
        diagram.edge(centre, target, "modifiers")

    roles: dict = {}
    for indication in record.get("indications", []):
        role = (indication.get("role") or {}).get("label") or "indication"
        roles.setdefault(role, []).append(indication["diagnosis"].get("notation"))
    if roles:
        indications = hub("indications", "Indications (ICD-10-CM)", "#indications")
        for role, notations in roles.items():
            target = diagram.node(("indications", role), _join(sorted(set(notations))), "diagnosis",
                                  page + "#indications")
            diagram.edge(indications, target, role)

    sites: dict = {}
    for site in record.get("sitesOfService", []):
        role = (site.get("role") or {}).get("label") or "site"
        pos = site.get("placeOfService")
        name = f"POS {pos.get('notation')}" if pos else (site.get("setting") or {}).get("label")
        if site.get("payer") and site["payer"].get("name"):
            name = f"{name} ({site['payer']['name']})"
        sites.setdefault(role, []).append(name)
    if sites:
        settings = hub("sites", "Sites of service", "#sites")
        for role, names in sites.items():
            target = diagram.node(("sites", role), _join(names), "site", page + "#sites")
            diagram.edge(settings, target, role, dashed="excluded" in role)

    statuses: dict = {}
    for position in record.get("payerPositions", []):
        status = (position.get("status") or {}).get("label") or "position"
        payer = (position.get("payer") or {}).get("name")
        if payer and payer not in statuses.setdefault(status, []):
            statuses[status].append(payer)
    if statuses:
        coverage = hub("coverage", "Payer coverage", "#coverage")
        for status, payers in statuses.items():
            target = diagram.node(("payers", status), _join(payers, 6, 90), "payer", page + "#coverage")
            diagram.edge(coverage, target, status)
    return diagram


# Laid-out diagrams kept per store: in memory, at most this many a store (a few kB to ~100 kB each).
KEPT_IN_MEMORY = 512


@functools.cache
def _layout_version() -> str:
    """Changes whenever this module does: a diagram kept on disk is laid out by the code that reads it."""
    import hashlib  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def kept_svg(store, key: str, draw) -> str:
    """The SVG of `key` (a code's IRI), laid out by `draw()` once per build and kept with the
    store: for a persisted build in its diagrams/ folder, shared by every worker and kept
    across restarts (a new build has its own); otherwise on the store object, which a reload
    replaces. A folder that cannot be written is just no sharing."""
    import hashlib  # noqa: PLC0415
    import threading  # noqa: PLC0415
    from collections import OrderedDict  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    kept = store.__dict__.setdefault("_diagrams", OrderedDict())
    lock = store.__dict__.setdefault("_diagrams_lock", threading.Lock())
    with lock:
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    source = getattr(store, "source", None)
    path = None
    if source and source[0] == "persisted":
        name = hashlib.sha256(f"{_layout_version()} {key}".encode("utf-8")).hexdigest()
        path = Path(source[1]) / "diagrams" / f"{name}.svg"
    svg = None
    if path is not None:
        try:
            svg = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            svg = None
    if svg is None:
        svg = draw()
        if path is not None:
            try:
                from ..files import write_atomically  # noqa: PLC0415

                path.parent.mkdir(exist_ok=True)
                write_atomically(path, [svg], prefix=".diagram-")
            except OSError:
                pass
    with lock:
        kept[key] = svg
        while len(kept) > KEPT_IN_MEMORY:
            kept.popitem(last=False)
    return svg
