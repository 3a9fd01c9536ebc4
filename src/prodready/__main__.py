"""`python -m prodready`: the same as the `prodready` command."""

from prodready.cli import main

raise SystemExit(main())
