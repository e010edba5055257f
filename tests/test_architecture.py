"""The package's shape (issue 14): imports run down the declared layers only, with no circle;
nothing imports the CLI; every module is small and opens with a one-line docstring of its job.

Every import is read with `ast`, those inside functions too: a lazy import is still a
dependency, only a cheaper one.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "server"

# Bottom first. A module may import its own layer's modules and those of the layers below;
# never one above. A layer is a package (every module under it) or a single module.
LAYERS = (
    ("server.errors", "server.namespaces", "server.config", "server.files"),  # foundation
    ("server.rdf",),  # terms, parsing
    ("server.sparql",),  # text tools, read-only guard, ordering, result formats
    ("server.store",),  # embedded, isolation, remote, upload
    ("server.validate",),  # SHACL compiled to SPARQL, the report, pySHACL, the conformance gate
    ("server.reports",),  # whole-graph answers kept per build
    ("server.graph",),  # persisted builds, opening a store, the live holder
    ("server.icd10cm", "server.icd_notes", "server.icd10cm_build", "server.icd_claims", "server.icd_notes_page",
     "server.questions", "server.codes", "server.search", "server.payers", "server.claims", "server.fhir"),  # the domain
    ("server.authoring",),  # import, diff
    ("server.web",),  # the Flask app, views, cache, OpenAPI, diagrams
    ("server",),  # the package itself: `from server import create_app`
    ("server.cli",),  # the `coderef` command, on top
)
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index of the layer a module belongs to: its longest matching prefix."""
    best, index = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, index = len(name), i
    assert index is not None, f"{module} is in no layer of LAYERS: add it"
    return index


def imported(module: str, path: Path) -> set[str]:
    """The modules of the package that `module` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from . import x` imports the module x when there is one, else a name of prefix
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


EDGES = {m: imported(m, p) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_run_down_only():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in EDGES.items() for t in sorted(targets) if layer_of(t) > layer_of(m)]
    assert not upward, "imports that go up the layers:\n" + "\n".join(upward)


def cycles(edges: dict) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    assert cycles(EDGES) == []


def test_the_cycle_finder_finds_a_circle():
    """A test that cannot fail is a defect: the finder sees a circle of three."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_imports_the_cli():
    offenders = [m for m, targets in EDGES.items() if not m.startswith("server.cli")
                 and any(t == "server.cli" or t.startswith("server.cli.") for t in targets)]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small_and_says_its_job(module):
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{path} has {lines} lines; split it by concern (at most {MAX_LINES})"
    doc = ast.get_docstring(ast.parse(text), clean=False)
    assert doc, f"{path} opens with no docstring"
    first = doc.split("\n", 1)[0]
    assert first.strip() and re.search(r"[.:]$", first.strip()), \
        f"{path}: the docstring's first line must be one whole sentence saying the module's job, not {first!r}"
    assert "\n" not in doc or doc.split("\n", 2)[1].strip() == "", \
        f"{path}: the docstring's one-line summary must be followed by a blank line"


def test_layers_name_real_modules():
    for names in LAYERS:
        for name in names:
            assert name in MODULES, f"LAYERS names {name}, which is not a module of the package"
