"""The offline tools: picture → sound (:mod:`~.sonify`), a picture carved into a sound
(:mod:`~.imprint`), sound → canvas picture (:mod:`~.analyze`), and the demo that runs them all
with the project's own assets (:mod:`~.demo`)."""
