"""Generation: settings per model and their one schema (:mod:`~.settings`, :mod:`~.schema`,
:mod:`~.resolve`), the methods (:mod:`~.methods` over :mod:`~.sampling`), drawing samples in
batches (:mod:`~.drawing`), run folders (:mod:`~.runs`, :mod:`~.legacy`) and prompt-pair files
(:mod:`~.prompt_files`)."""
