"""`coderef serve`: gunicorn over the persisted store, checked once in a fresh process before the fork."""

import sys

from .. import config as cfg
from ..errors import CoderefError
from .common import progress_printer, settings_of


def serving_settings(args) -> dict:
    """The settings of `serve`: a persisted store unless --store or CODEREF_STORE says otherwise."""
    settings = settings_of(args)
    if args.store:
        settings["STORE"] = args.store
    elif "STORE" not in cfg.from_environment() and not settings.get("SPARQL_ENDPOINT"):
        settings["STORE"] = "persisted"
    # In production a runaway query is stopped, not merely abandoned (server/store/isolation.py);
    # CODEREF_QUERY_ISOLATION=0 turns it off.
    settings["QUERY_ISOLATION"] = cfg.from_environment().get("QUERY_ISOLATION", True)
    return settings


def _prepare_in_child(settings: dict) -> None:
    """Build (or check) the persisted store and load the app once: bad data or a bad
    question stops the start-up here, with the message on stderr."""
    from ..graph.builds import ensure_persisted
    from ..web.app import create_app

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
    from .. import reports
    from ..files import fingerprint
    from ..graph.builds import build_fingerprint, current_build, manifest
    from ..questions import check_cache, vouched

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
        from ..web.app import create_app

        create_app(settings).run(host=args.host, port=args.port, debug=True, use_reloader=False)
        return 0
    from gunicorn.app.base import BaseApplication

    from ..web.app import create_app

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
    from ..web.app import blueprints

    for _ in blueprints():
        pass
    print(f"coderef serving on http://{args.host}:{args.port}/ ({args.workers} workers, "
          f"{settings.get('STORE')} store)", file=sys.stderr)
    Server().run()
    return 0


# ------------------------------------------------------------------ parser


def register(sub, common) -> None:
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
