"""pyrudof (rudof, the Rust SHACL engine on PyPI) on the files `coderef validate --root ROOT` reads, as one command.

    .venv/bin/python benchmarks/rudof_validate.py ROOT

prints {"conforms", "results": [{severity, focus, path, value, component}]} on
stdout, the fields benchmarks/validation.py compares with the fast path's report; exit 0
conforms, 1 not, 2 when pyrudof is missing or cannot read the files (the reason on stderr).
The shape files are given to rudof as one Turtle text (it reads one shapes graph).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import config as cfg  # noqa: E402


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: rudof_validate.py ROOT\n")
        return 2
    try:
        import pyrudof
    except ImportError:
        sys.stderr.write("pyrudof is not installed: pip install pyrudof (it is in the test extras of pyproject.toml)\n")
        return 2
    settings = cfg.resolve({"ROOT": args[0]})
    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    files = cfg.data_files(settings)
    try:
        for n, path in enumerate(files):
            rudof.read_data(str(path), merge=n > 0, reader_mode=pyrudof.ReaderMode.Strict)
        rudof.read_shacl("\n".join(Path(p).read_text(encoding="utf-8") for p in cfg.shape_files(settings)))
        report = rudof.validate_shacl()
    except pyrudof.RudofError as err:
        sys.stderr.write(f"pyrudof: {err}\n")
        return 2
    results = [{"severity": e.severity, "focus": e.focus_node, "path": e.path, "value": e.value,
                "component": e.constraint_component} for e in report]
    json.dump({"conforms": report.conforms, "results": results}, sys.stdout)
    return 0 if report.conforms else 1


if __name__ == "__main__":
    sys.exit(main())
