"""Benchmarks and simulations that print numbers (``medal bench …``, ``medal simulate``): they build their
own projects with the product's own code and measure it. The top floor of the library: nothing in
``storage``, ``labeling`` or ``learner`` imports them; only the CLI (and tests) do."""
