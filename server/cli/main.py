"""The `coderef` command's entry point: its command table, the parser, and the exit codes.

Exit codes: 0 fine, 1 does not conform, 2 could not load or bad input. Each command's
module imports what the command drives only when it runs, so building the parser costs
almost nothing (`coderef serve` starts in well under a second).
"""

import argparse
import os
import sys

from ..errors import CoderefError
from . import ask, data, serve
from .common import common_parent

# Every subcommand, in the order `coderef --help` lists them: a function(subparsers, common).
COMMANDS = (
    serve.register,
    data.register_validate,
    ask.register_query,
    ask.register_sparql,
    data.register_load,
    data.register_build_icd10cm,
    ask.register_check_claim,
    data.register_import,
    data.register_diff,
    data.register_reload,
    data.register_check_wording,
)


def build_parser() -> argparse.ArgumentParser:
    common = common_parent()
    parser = argparse.ArgumentParser(prog="coderef", description="An open knowledge-graph reference for medical billing codes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(sub, common)
    return parser


def main(argv=None) -> int:
    whole_process = argv is None  # the command itself, not main([...]) called from Python
    argv = sys.argv[1:] if argv is None else list(argv)
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
