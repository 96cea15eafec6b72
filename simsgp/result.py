"""The outcome of one run: records, final parameters, summary, scenario and version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from simsgp._version import __version__
from simsgp.pushsum import debias
from simsgp.scenario import Scenario, to_dict

__all__ = ["Result"]


@dataclass(frozen=True, eq=False)
class Result:
    """What :func:`simsgp.run` returns.

    Attributes
    ----------
    scenario : Scenario
        The resolved scenario that produced this result.
    version : str
        simsgp version that produced it.
    records : dict of ndarray
        Per-iteration, per-node arrays (see :data:`simsgp.records.FIELDS`).
    params : ndarray, shape (nodes, d)
        Final de-biased parameters ``z = x / w`` of every node.
    weights : ndarray, shape (nodes,)
        Final push-sum weights (all ones for algorithms without push-sum).
    summary : dict
        Summary metrics (see :func:`simsgp.metrics.summarize`).
    """

    scenario: Scenario
    version: str
    records: dict[str, np.ndarray]
    params: np.ndarray
    weights: np.ndarray
    summary: dict[str, Any]

    @classmethod
    def from_run(
        cls, scenario: Scenario, records: dict[str, np.ndarray], x: np.ndarray, w: np.ndarray, summary: dict[str, Any]
    ) -> Result:
        """Assemble a result from a finished run's state."""
        return cls(scenario, __version__, records, debias(x, w), w.copy(), summary)

    def to_dict(self) -> dict[str, Any]:
        """``scenario`` (resolved), ``version`` and ``summary`` as plain data."""
        return {"scenario": to_dict(self.scenario), "version": self.version, "summary": self.summary}

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)
