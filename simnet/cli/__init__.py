"""Command-line interface of simnet: ``simnet simulate | hierarchy | demo``."""

from .main import main

__all__ = ["main"]
