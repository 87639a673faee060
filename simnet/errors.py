"""Exception hierarchy of simnet.

Every error caused by bad input or by a run that cannot go on is a subclass of
:class:`SimnetError`, so scripts can catch them all at once and the command-line
interface can print them on one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DivergenceError",
    "HierarchyError",
    "SimnetError",
]


class SimnetError(Exception):
    """Base class of every error simnet raises on purpose."""


class HierarchyError(SimnetError, ValueError):
    """A class hierarchy is invalid.

    For example a cycle, several roots, an unreachable class or a bad name.
    """


class ConfigError(SimnetError, ValueError):
    """A parameter or configuration value is missing, of the wrong type or out of
    range."""


class DataError(SimnetError, ValueError):
    """A file or array given as data has the wrong format, shape or content."""


class DivergenceError(SimnetError, FloatingPointError):
    """A simulation produced NaN or infinity.

    Attributes
    ----------
    step : int
        The first step at which a non-finite value was seen.
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step
