"""Training the pocket pair: the data it learns from (shapes, sounds and their hybrids, all
synthesised), the resumable training loop, the export that ships weights, and a check of the
judges on fresh data."""
