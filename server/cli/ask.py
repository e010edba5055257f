"""The asking commands: query (a named question), sparql (any read-only query) and check-claim."""

import json
import sys
from pathlib import Path

from .. import config as cfg
from ..errors import BadRequest
from .common import add_format, emit, settings_of


def _parse_pairs(pairs) -> dict:
    params = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BadRequest(f"--param {pair!r}: write it as name=value")
        params[name.strip()] = value
    return params


class _LazyStore:
    """A store opened when first used."""

    def __init__(self, opener):
        self._opener, self._store = opener, None

    def __getattr__(self, name):
        if self._store is None:
            self._store = self._opener()
        return getattr(self._store, name)


def cmd_query(args) -> int:
    from ..graph.open import open_store  # noqa: PLC0415
    from ..questions import check_cache, load_catalogue  # noqa: PLC0415

    settings = settings_of(args)
    catalogue = load_catalogue(cfg.folder(settings, "QUERIES_DIR"), check_cache(settings))
    if args.question is None:
        for q in catalogue:
            params = " ".join(f"{p.name}={p.type}{'' if p.required else '?'}" for p in q.params)
            print(f"{q.id:24} {q.summary}{'  [' + params + ']' if params else ''}")
        return 0
    catalogue.get(args.question)  # an unknown question fails before the data loads
    params = _parse_pairs(args.param)
    # Opened on the first look-up: a malformed or missing parameter fails before the data loads.
    store = _LazyStore(lambda: open_store(settings))
    answer = catalogue.run(store, args.question, params, gathered=True)
    emit(args.format, {"json": lambda: json.dumps(answer.as_json(), indent=2, ensure_ascii=False) + "\n",
                       "csv": answer.as_csv, "text": answer.as_text})
    return 0


def register_query(subparsers, common) -> None:
    p = subparsers.add_parser("query", parents=[common], help="answer a named question (no id: list them)")
    p.add_argument("question", nargs="?", help="question id, e.g. bundled_services")
    p.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="a parameter, e.g. code=0584T (repeatable)")
    add_format(p, ("text", "json", "csv"), "text")
    p.set_defaults(func=cmd_query)


CLI_FORMATS = ("json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld", "rdfxml")


def cmd_sparql(args) -> int:
    from ..graph.open import open_store  # noqa: PLC0415
    from ..sparql.formats import format_name, run_query, serialize  # noqa: PLC0415
    from ..sparql.guard import check_query  # noqa: PLC0415

    text = sys.stdin.read() if args.query == "-" else args.query
    form = check_query(text)  # refused before any data is loaded or any endpoint asked
    graph = form in ("CONSTRUCT", "DESCRIBE")
    name = format_name(args.format or ("turtle" if graph else "json"), graph)
    settings = settings_of(args)
    answer = run_query(open_store(settings), text, settings["RESULT_CAP"])
    body, _ = serialize(answer, name)
    sys.stdout.buffer.write(body)
    if body and not body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    if answer.truncated:
        print(f"coderef: the answer was cut at the result cap ({settings['RESULT_CAP']})", file=sys.stderr)
    return 0


def register_sparql(sub, common) -> None:
    p = sub.add_parser("sparql", parents=[common], help="run a read-only SPARQL query (the same answer as /sparql)")
    p.add_argument("query", help="the SPARQL query text, or - to read it from standard input")
    add_format(p, CLI_FORMATS, None,
               help="json|csv|tsv|xml for SELECT/ASK (default json), turtle|ntriples|jsonld|rdfxml for CONSTRUCT/DESCRIBE (default turtle)")
    p.set_defaults(func=cmd_sparql)


def cmd_check_claim(args) -> int:
    from ..claims import check_claim, format_text, parse_claim  # noqa: PLC0415 (the ICD-10-CM set loads on first use)
    from ..graph.open import open_store  # noqa: PLC0415

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as err:
        raise BadRequest(f"{args.file}: {err.strerror or err}") from None
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise BadRequest(f"{args.file}: not JSON: {err}") from None
    claim = parse_claim(obj)  # before loading the reference: a bad claim fails fast
    settings = settings_of(args)
    findings = check_claim(open_store(settings), claim, settings)
    emit(args.format, {"json": lambda: json.dumps({"ok": True, "findings": findings}, indent=2) + "\n",
                       "text": lambda: format_text(findings)})
    return 1 if any(f["severity"] == "error" for f in findings) else 0


def register_check_claim(sub, common) -> None:
    p = sub.add_parser("check-claim", parents=[common],
                       help="check a claim (JSON) against the reference; exits 1 when a finding is an error")
    p.add_argument("file", metavar="FILE.json", help="the claim, or - for standard input")
    add_format(p, ("text", "json"), "text")
    p.set_defaults(func=cmd_check_claim)
