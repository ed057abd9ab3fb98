"""``python -m stmtl``: the command-line interface."""

from stmtl.cli import main

raise SystemExit(main())
