"""The `coderef` command. Exit codes: 0 fine, 1 does not conform, 2 could not load/bad input."""

import argparse
import os
import sys

from . import config as cfg
from .errors import CoderefError


def settings_from(args) -> dict:
    """Defaults -> environment -> --root."""
    overrides = {}
    if getattr(args, "root", None):
        overrides["ROOT"] = os.path.abspath(args.root)
    return cfg.resolve(overrides)


def progress_printer(verb: str):
    """Progress on stderr for a person; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(n, total, item):
        sys.stderr.write(f"\r{verb} {n}/{total}: {item}\033[K")
        if n == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


# ------------------------------------------------------------------ serve

def serving_settings(args) -> dict:
    """The settings of `serve`: a persisted store unless --store or CODEREF_STORE says otherwise."""
    settings = settings_from(args)
    if args.store:
        settings["STORE"] = args.store
    elif "STORE" not in cfg.from_environment() and not settings.get("SPARQL_ENDPOINT"):
        settings["STORE"] = "persisted"
    # In production a runaway query is stopped, not merely abandoned (server/isolation.py);
    # CODEREF_QUERY_ISOLATION=0 turns it off.
    settings["QUERY_ISOLATION"] = cfg.from_environment().get("QUERY_ISOLATION", True)
    return settings


def _prepare_in_child(settings: dict) -> None:
    """Build (or check) the persisted store and load the app once: bad data or a bad
    question stops the start-up here, with the message on stderr."""
    from .app import create_app
    from .graph import ensure_persisted

    try:
        if settings.get("STORE") == "persisted" and not settings.get("SPARQL_ENDPOINT"):
            build, problem = ensure_persisted(cfg.data_files(settings), cfg.folder(settings, "STORE_DIR"),
                                              progress_printer("Building the store"),
                                              shapes=cfg.shape_files(settings))
            if problem:
                print(f"coderef: serving the last good store {build}; the rebuild failed: {problem}", file=sys.stderr)
        create_app(settings)
    except CoderefError as err:
        print(f"coderef: {err}", file=sys.stderr)
        sys.exit(err.exit_code)


def checked_before(settings: dict) -> bool:
    """Whether the persisted build is current and conforms to the shapes and every question
    passed its checks before: then prepare() has nothing to find and is skipped (about a
    second). Stat and small files only, no Oxigraph store: this is the process gunicorn forks."""
    if settings.get("STORE") != "persisted" or settings.get("SPARQL_ENDPOINT"):
        return False
    from . import reports
    from .graph import build_fingerprint, current_build, fingerprint, manifest
    from .questions import check_cache, vouched

    build = current_build(cfg.folder(settings, "STORE_DIR"))
    return (build is not None and build_fingerprint(build) == fingerprint(cfg.data_files(settings))
            and manifest(build).get("conforms_to") == fingerprint(cfg.shape_files(settings))
            and vouched(cfg.folder(settings, "QUERIES_DIR"), check_cache(settings))
            and (not settings.get("REPORTS") or reports.current(build / reports.FILE, cfg.folder(settings, "QUERIES_DIR"))))


def prepare(settings: dict) -> int:
    """Run _prepare_in_child in a fresh (spawned) process, once, before gunicorn forks its
    workers; each worker then opens that one store read-only instead of parsing its own copy.
    Not in the master itself: a process that has used Oxigraph (RocksDB's thread pool) and
    then forks hands its workers locks held by threads that do not exist there; they hang."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=_prepare_in_child,
                                                       # a check only: no query processes
                                                       args=({**settings, "QUERY_ISOLATION": False},))
    child.start()
    child.join()
    return 0 if child.exitcode == 0 else (child.exitcode if child.exitcode and child.exitcode > 0 else 2)


def cmd_serve(args) -> int:
    settings = serving_settings(args)
    if args.dev:
        from .app import create_app

        create_app(settings).run(host=args.host, port=args.port, debug=True, use_reloader=False)
        return 0
    from gunicorn.app.base import BaseApplication

    from .app import create_app

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            # Threads: a request waiting on a slow query (up to QUERY_TIMEOUT) holds one
            # thread, not the whole worker; the others keep answering.
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", args.threads)
            # Take a connection only with a thread free for it: the rest wait in the shared
            # listen queue for whichever worker frees up first, not behind one busy worker.
            self.cfg.set("worker_connections", args.threads)
            self.cfg.set("timeout", 60)
            self.cfg.set("accesslog", None if args.quiet else "-")

        def load(self):
            # Runs in each worker after the fork (no preload): its own read-only handle.
            return create_app(settings)

    failed = 0 if checked_before(settings) else prepare(settings)
    if failed:
        return failed
    # Imported once here, before the fork: workers start warm and share these pages.
    from .app import blueprints

    for _ in blueprints():
        pass
    print(f"coderef serving on http://{args.host}:{args.port}/ ({args.workers} workers, "
          f"{settings.get('STORE')} store)", file=sys.stderr)
    Server().run()
    return 0


# ------------------------------------------------------------------ parser

def build_parser() -> argparse.ArgumentParser:
    root_help = "folder holding ontology/, data/, shapes/ and queries/ (default: $CODEREF_ROOT or the repository)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", help=root_help)

    parser = argparse.ArgumentParser(prog="coderef", description="An open knowledge-graph reference for medical billing codes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("serve", parents=[common], help="serve the reference over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2, help="WSGI worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--dev", action="store_true", help="Flask's development server instead of gunicorn")
    p.add_argument("--store", choices=("persisted", "memory"),
                   help="persisted: build var/store once, workers open it read-only (default); "
                        "memory: each worker parses the files")
    p.add_argument("--quiet", action="store_true", help="no access log")
    p.set_defaults(func=cmd_serve)

    for register in REGISTRARS:
        register(sub, common)
    return parser


# Other modules' subcommands: each a function(subparsers, common_parent).
REGISTRARS = []


def _register_optional():
    """Subcommands that live beside the code they drive."""
    import importlib

    for name in ("validation", "questions", "sparql", "remote", "icd10cm", "claims", "importer", "diff",
                 "reload"):
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as err:
            if err.name == f"{__package__}.{name}":
                continue
            raise
        register = getattr(module, "register_cli", None)
        if register and register not in REGISTRARS:
            REGISTRARS.append(register)


def main(argv=None) -> int:
    whole_process = argv is None  # the command itself, not main([...]) called from Python
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] != ["serve"]:  # serve needs none of them: ~0.3 s (pySHACL, SPARQLWrapper) off its start
        _register_optional()
    args = build_parser().parse_args(argv)
    args.whole_process = whole_process
    try:
        code = args.func(args)
    except CoderefError as err:
        print(f"coderef: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    if getattr(args, "exit_at_once", False):
        # A command that holds a large store and has nothing left to do (validate): leave
        # without freeing it, once the output is written.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
