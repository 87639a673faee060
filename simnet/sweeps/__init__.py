"""Parameter sweeps on local cores or a Dask cluster, with a durable result store.

A sweep runs a base run configuration (the schema of ``simnet simulate``) at many
points -- a grid, a random sample or a list -- with several seeds each, on one of
three backends (serial, local processes, Dask), and writes every finished cell to an
output folder at once, so an interrupted sweep resumes where it stopped. The same
sweep gives identical results on every backend.

* :mod:`~simnet.sweeps.spec`: :class:`SweepSpec`, :func:`load_sweep` (TOML format
  and the cell seeds);
* :mod:`~simnet.sweeps.cells`: what a cell computes (:class:`SimulateCell`, or any
  ``fn(params, seed)``);
* :mod:`~simnet.sweeps.backends`: where cells run, on one thread each;
* :mod:`~simnet.sweeps.store`: the output folder and :class:`SweepResult`;
* :mod:`~simnet.sweeps.phase`: phase-diagram tables and heatmaps;
* :func:`run_sweep`: the entry point (``simnet sweep`` on the command line).
"""

from .backends import Backend
from .cells import Cell, CellOutput, SimulateCell
from .phase import phase_table, plot_phase
from .run import run_sweep
from .spec import Choice, LogUniform, SweepSpec, Uniform, load_sweep, sweep_from_mapping
from .store import SweepResult

__all__ = [
    "Backend",
    "Cell",
    "CellOutput",
    "Choice",
    "LogUniform",
    "SimulateCell",
    "SweepResult",
    "SweepSpec",
    "Uniform",
    "load_sweep",
    "phase_table",
    "plot_phase",
    "run_sweep",
    "sweep_from_mapping",
]
