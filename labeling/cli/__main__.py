"""``python -m labeling.cli``: the same as the ``medal`` command."""

from labeling.cli.main import main

raise SystemExit(main())
