"""The ``medal`` command line: a thin edge over the library."""

__all__: list[str] = []  # no face: the top floor, which no room imports (``medal`` runs labeling.cli.main:main)
