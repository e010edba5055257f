"""The data commands: validate, load, build-icd10cm, import, diff and reload.

Each imports what it drives when it runs, so `coderef --help` and the other commands do
not pay for pySHACL, SPARQLWrapper or the ICD-10-CM code set.
"""

import json
import os
import sys
from pathlib import Path

from .. import config as cfg
from ..errors import BadRequest, CoderefError, ConfigError
from ..validate import ENGINES
from .common import add_format, emit, progress_printer, settings_of


def cmd_validate(args) -> int:
    from ..validate.engine import validate  # noqa: PLC0415

    settings = settings_of(args)
    show = progress_printer("validating")
    tty = show is not None
    # Run as the command (not main([...]) from Python): the store loaded for the check is
    # kept and the process leaves with os._exit once the report is out (server/cli/main.py), not
    # spending ~0.7 s a million triples freeing memory the system takes back anyway.
    keep = [] if getattr(args, "whole_process", False) else None
    report = validate(
        data_paths=args.paths or None,
        shape_paths=args.shapes or None,
        settings=settings,
        strict=args.strict,
        progress=show,
        engine=args.engine,
        jobs=args.jobs,
        keep=keep,
    )
    args.exit_at_once = bool(keep)
    if tty:
        where = "" if args.paths or not settings.get("SPARQL_ENDPOINT") or args.engine == "pyshacl" else f" at {report.files[0]}"
        sys.stderr.write(f"validated {report.triples:,} triples{where} against {report.shapes} rules ({report.engine})\n")
    emit(args.format, {"json": lambda: report.to_json(indent=2) + "\n", "turtle": report.to_turtle,
                       "text": report.to_text})
    return 0 if report.conforms else 1


def register_validate(sub, common) -> None:
    p = sub.add_parser(
        "validate", parents=[common],
        help="check the reference against the SHACL shapes",
        description="Validate Turtle files (default: ontology/ and data/) against shapes/. "
        "Exit 0 conforms, 1 violations (or warnings with --strict), 2 unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="data files or folders (the ontology is always added)")
    p.add_argument("--shapes", nargs="+", metavar="PATH", help="shape files or folders (default: shapes/)")
    add_format(p, ("text", "json", "turtle"), "text")
    p.add_argument("--strict", action="store_true", help="warnings also fail (exit 1)")
    p.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast: the shapes as SPARQL on Oxigraph, or on $CODEREF_SPARQL_ENDPOINT when no PATH "
                   "is given (default); fast-only: the same, but a shape it cannot translate is an error (exit 2) "
                   "instead of being checked by pySHACL; pyshacl: the reference engine, slower")
    p.add_argument("--jobs", type=int, default=_cpus(), metavar="N",
                   help="check the rules of a large graph (100k triples or more) read from files in N "
                   "processes (default: the number of CPUs, here %(default)s)")
    p.set_defaults(func=cmd_validate)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cmd_load(args) -> int:
    from ..store.upload import FILES, load  # noqa: PLC0415

    settings = settings_of(args)
    endpoint = args.endpoint or settings.get("SPARQL_ENDPOINT")
    if not endpoint:
        raise ConfigError("give --endpoint URL (or set CODEREF_SPARQL_ENDPOINT)")
    try:
        sent = load(settings, endpoint, graph=args.graph, via=args.via, store_url=args.store,
                    update_url=args.update, append=args.append,
                    progress=progress_printer("Sent"), parse_progress=progress_printer("Parsed"))
    except ValueError as err:
        raise BadRequest(f"--graph must be 'files', 'default' or an absolute IRI: {err}") from None
    verb = "added" if args.append else "loaded"
    where = "each file's graph" if args.graph == FILES else f"the {args.graph} graph"
    print(f"{verb} {sent} triples into {where} of {endpoint}", file=sys.stderr)
    return 0


def register_load(sub, common) -> None:
    p = sub.add_parser("load", parents=[common], help="load ontology/ and data/ into a SPARQL endpoint")
    p.add_argument("--endpoint", help="the endpoint's query URL (default: $CODEREF_SPARQL_ENDPOINT)")
    p.add_argument("--graph", default="files",
                   help="'files': each file into its own graph, https://w3id.org/coderef/graph/<file stem> "
                        "(the endpoint should read their union as its default graph); 'default' or the IRI "
                        "of a named graph: all files into that one graph (default: files)")
    p.add_argument("--via", choices=("gsp", "update"),
                   help="Graph Store Protocol (default when the store URL is known) or SPARQL Update")
    p.add_argument("--store", metavar="URL", help="Graph Store Protocol URL (default for .../query: .../store)")
    p.add_argument("--update", metavar="URL", help="SPARQL Update URL (default for .../query: .../update, else the endpoint)")
    p.add_argument("--append", action="store_true", help="add to the graph instead of replacing it")
    p.set_defaults(func=cmd_load)


def cmd_build(args) -> int:
    from ..icd10cm_build import build  # noqa: PLC0415 (the code set loads on first use: ~3 s)

    settings = settings_of(args)
    default = cfg.folder(settings, "DATA_DIR") / "modules" / "icd10cm.ttl"
    out = Path(args.out) if args.out else default
    codes = [c for arg in args.codes for c in arg.replace(",", " ").split()] if args.codes else None
    built = build(out, codes, progress_printer("ICD-10-CM"))
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(built.notes.items()))
    print(f"wrote {built.concepts} ICD-10-CM concepts, {sum(built.notes.values())} notes ({kinds or 'none'}) "
          f"and {built.ranges} ranges to {out}", file=sys.stderr)
    if built.unresolved:
        print(f"{len(built.unresolved)} note targets name no code of the set (kept as text, cr:unresolvedTarget):",
              file=sys.stderr)
        for note, target in built.unresolved:
            print(f"  {target!r} in {note}", file=sys.stderr)
    return 0


def register_build_icd10cm(sub, common) -> None:
    p = sub.add_parser("build-icd10cm", parents=[common], help="write ICD-10-CM as SKOS from the official code set")
    p.add_argument("--out", help="output file (default: data/modules/icd10cm.ttl, loaded whenever present)")
    p.add_argument("--codes", nargs="+", metavar="CODE", help="only these codes and their ancestors (default: every code)")
    p.set_defaults(func=cmd_build)


def cmd_import(args) -> int:
    from ..authoring.importer import run_import  # noqa: PLC0415

    outcome = run_import(args.file, settings_of(args), dry_run=args.dry_run)
    if args.format == "text" and not outcome.ok:
        sys.stderr.write(outcome.to_text())  # a refusal is a message for the person, not output
    else:
        emit(args.format, {"json": lambda: json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False) + "\n",
                           "text": outcome.to_text})
    return 0 if outcome.ok else 1


def register_import(sub, common) -> None:
    p = sub.add_parser(
        "import", parents=[common],
        help="add payer policies from a CSV or YAML table to data/",
        description="Rows: payer, policy_id, title, codes, status, effective_date, last_reviewed, criteria, "
        "source, confidence (optional: context, source_title, source_kind). Written to "
        "data/imported-<name>.ttl only if every row is good and the reference then conforms. "
        "Exit 0 written, 1 refused (the report names row and column), 2 unreadable input.",
    )
    p.add_argument("file", metavar="FILE", help="a .csv, .yaml or .yml table")
    p.add_argument("--dry-run", action="store_true", help="check and validate, write nothing")
    add_format(p, ("text", "json"), "text")
    p.set_defaults(func=cmd_import)


def cmd_diff(args) -> int:
    from ..authoring.diff import diff  # noqa: PLC0415

    result = diff(args.old, args.new, settings_of(args))
    emit(args.format, {"json": lambda: json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n",
                       "patch": result.to_patch, "text": result.to_text})
    return 0


def register_diff(sub, common) -> None:
    p = sub.add_parser(
        "diff", parents=[common],
        help="what changed in the reference between two versions",
        description="Each side is a folder holding ontology/ and data/, or a git revision of the "
        "repository at --root (read with git show, nothing checked out). Prints the changes in words "
        "grouped by payer and by code, as JSON, or as a SPARQL Update patch (DELETE DATA / INSERT DATA).",
    )
    p.add_argument("old", metavar="OLD", help="folder or git revision (tag, branch, commit)")
    p.add_argument("new", metavar="NEW", help="folder or git revision")
    add_format(p, ("text", "json", "patch"), "text")
    p.set_defaults(func=cmd_diff)


def cmd_check_wording(args) -> int:
    """Literals of data/ that share six or more words with a fingerprinted descriptor text."""
    from ..authoring import wording  # noqa: PLC0415

    settings = settings_of(args)
    prints_file = Path(args.fingerprints) if args.fingerprints else cfg.folder(settings, "DATA_DIR") / "wording" / "descriptor-fingerprints.tsv"
    if args.build:
        count = wording.build(Path(args.build), prints_file)
        print(f"{prints_file}: {count:,} fingerprints of {wording.RUN}-word runs from {args.build}")
        return 0
    if not prints_file.is_file():
        raise ConfigError(f"{prints_file}: no fingerprint file (make one with --build DIR, or name one with --fingerprints)")
    prints = wording.read_fingerprints(prints_file)
    data = cfg.folder(settings, "DATA_DIR")
    files = [f for f in cfg.data_files(settings) if f.is_relative_to(data)]  # data/, without examples/
    copies = wording.find_copies(files, prints)
    for copy in copies:
        print(copy)
    print(f"{len(copies)} shared runs of {wording.RUN}+ words in {len(files)} files, against {len(prints):,} fingerprints"
          + ("" if copies else ": every text is our own words"), file=sys.stderr)
    return 1 if copies else 0


def register_check_wording(sub, common) -> None:
    p = sub.add_parser(
        "check-wording", parents=[common],
        help="find texts of data/ that copy six or more words of a descriptor source",
        description="Compares every literal of data/*.ttl (but the generated ICD-10-CM module) with the "
        "fingerprints of the descriptor texts the fact sheet's sources give, and prints each shared run "
        "with its file and line. Exit 1 when any is found. --build DIR makes the fingerprint file from "
        "text files (first line the source's address), which stay out of the repository.",
    )
    p.add_argument("--fingerprints", metavar="FILE", help="default: data/wording/descriptor-fingerprints.tsv")
    p.add_argument("--build", metavar="DIR", help="write the fingerprint file from DIR/*.txt instead of checking")
    p.set_defaults(func=cmd_check_wording)


def _describe(build) -> str:
    from ..graph.builds import manifest  # noqa: PLC0415

    record = manifest(build)
    return f"{build} ({record.get('triples', 0):,} triples from {len(record.get('files', []))} files)"


def cmd_reload(args) -> int:
    """Check ontology/ and data/ and build the persisted store from them, the way the server
    would, or say why not and change nothing. Running servers are not signalled: each worker
    already looks at the files every RELOAD_INTERVAL seconds and opens the build made here.
    Signalling would need their process ids, and it would reach no server on another
    machine that shares the store folder."""
    from ..graph.builds import current_build, ensure_persisted, ensure_reports  # noqa: PLC0415

    settings = settings_of(args)
    if settings.get("SPARQL_ENDPOINT"):
        raise ConfigError("CODEREF_SPARQL_ENDPOINT is set: the remote endpoint's data is loaded with "
                          "`coderef load`, not built here")
    store_dir = cfg.folder(settings, "STORE_DIR")
    before = current_build(store_dir)
    shapes = cfg.shape_files(settings)
    try:
        build, _ = ensure_persisted(cfg.data_files(settings), store_dir, progress_printer("Building the store"),
                                    shapes=shapes, keep_last_good=False)
    except CoderefError as err:
        print(f"coderef: {err}", file=sys.stderr)
        kept = current_build(store_dir)
        print(f"coderef: not built; servers keep serving {kept}" if kept else
              "coderef: not built; there is no store to serve yet", file=sys.stderr)
        return err.exit_code
    if settings.get("REPORTS"):  # made here, servers switching to the build find them made
        import pyoxigraph as ox  # noqa: PLC0415

        ensure_reports(build, ox.Store.read_only(str(build)), cfg.folder(settings, "QUERIES_DIR"),
                       progress_printer("Making the reports"))
    if build == before:
        print(f"The store is up to date: {_describe(build)}.")
        return 0
    interval = float(settings.get("RELOAD_INTERVAL") or 0)
    when = (f"within {interval:g} s (RELOAD_INTERVAL)" if interval > 0
            else "at their next start (RELOAD_INTERVAL is 0: they do not look for changes)")
    print(f"Built {_describe(build)}; it conforms to the {len(shapes)} shape files.\n"
          f"Servers using the store in {store_dir} switch to it {when}.")
    return 0


def register_reload(sub, common) -> None:
    p = sub.add_parser(
        "reload", parents=[common],
        help="check the data and build the store running servers switch to",
        description="Parse ontology/ and data/ (a bad file is named with its line), check them against "
        "shapes/ and build the persisted store atomically; running servers open it within RELOAD_INTERVAL "
        "seconds. Exit 0 built or up to date, 1 does not conform, 2 could not load; on failure nothing changes.",
    )
    p.set_defaults(func=cmd_reload)
