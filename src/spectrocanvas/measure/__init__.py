"""Measuring samples: statistics and the one table writer, scoring sample folders with their
pair's scorer (:mod:`~.evaluate`), re-ranking (:mod:`~.rerank`), the paper's comparison
(:mod:`~.compare`) and its in-memory twin with settings sweeps (:mod:`~.study`)."""
