"""Errors raised for user input, each with a one-line message naming what and where."""


class EchelonError(Exception):
    """Base class of every user-facing error; the CLI prints its message and exits 2."""


class ConfigError(EchelonError, ValueError):
    """A scenario, benchmark or training config (or a data file it names) is invalid."""


class ActionError(EchelonError, ValueError):
    """An action passed to an environment is invalid; the environment state is unchanged."""


class Interrupted(EchelonError):
    """A long job stopped by Ctrl-C after saving what it had (a training checkpoint)."""
