"""`python -m server.cli`: the `coderef` command."""

import sys

from .main import main

sys.exit(main())
