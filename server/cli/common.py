"""What every subcommand shares: the settings of its --root, progress for a person, one output switch."""

import argparse
import sys

from .. import config as cfg


def settings_of(args) -> dict:
    """Defaults -> environment -> --root."""
    return cfg.for_root(getattr(args, "root", None))


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


def add_format(parser: argparse.ArgumentParser, choices, default: str | None, help: str | None = None) -> None:
    """--format: one of `choices`, written by `emit`."""
    parser.add_argument("--format", choices=tuple(choices), default=default, help=help)


def emit(fmt: str, writers: dict) -> None:
    """Write to stdout what the writer of format `fmt` makes (text, or bytes written as they are)."""
    out = writers[fmt]()
    if isinstance(out, bytes):
        sys.stdout.buffer.write(out)
        sys.stdout.flush()
    else:
        sys.stdout.write(out)


def common_parent() -> argparse.ArgumentParser:
    """The options every subcommand takes: --root."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR",
                        help="folder holding ontology/, data/, shapes/ and queries/ (default: $CODEREF_ROOT or the repository)")
    return common
