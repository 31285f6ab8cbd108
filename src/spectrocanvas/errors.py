"""Errors a user can cause. The CLI turns each into one line and a non-zero exit."""


class SpectrocanvasError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class OutputExistsError(SpectrocanvasError):
    """The output folder exists and overwriting was not asked for."""
