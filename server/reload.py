"""`coderef reload`: check ontology/ and data/ and build the persisted store from them, the
way the server would, or say why not and change nothing.

Exit 0 built (or already current), 1 the data does not conform to shapes/, 2 a file does not
load. Running servers are not signalled: each worker already looks at the files every
RELOAD_INTERVAL seconds and opens the build made here (one it does not have to make
itself). Signalling would need their process ids, and it would reach no server on another
machine that shares the store folder.
"""

import sys

from . import config as cfg
from .errors import CoderefError, ConfigError
from .graph import current_build, ensure_persisted, ensure_reports, manifest


def _describe(build) -> str:
    record = manifest(build)
    return f"{build} ({record.get('triples', 0):,} triples from {len(record.get('files', []))} files)"


def cmd_reload(args) -> int:
    from .cli import progress_printer, settings_from

    settings = settings_from(args)
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


def register_cli(sub, common):
    p = sub.add_parser(
        "reload", parents=[common],
        help="check the data and build the store running servers switch to",
        description="Parse ontology/ and data/ (a bad file is named with its line), check them against "
        "shapes/ and build the persisted store atomically; running servers open it within RELOAD_INTERVAL "
        "seconds. Exit 0 built or up to date, 1 does not conform, 2 could not load; on failure nothing changes.",
    )
    p.set_defaults(func=cmd_reload)
