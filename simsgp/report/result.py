"""The outcome of one run: records, final parameters, summary, scenario and version."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simsgp._version import __version__
from simsgp.learn.pushsum import debias
from simsgp.report.metrics import EVALUATION_FIELDS
from simsgp.scenario import Scenario, to_dict

__all__ = ["Result", "jsonable"]

_CUSTOM_FIELDS = {
    "task": (("task",), "name"),
    "graph": (("algorithm",), "graph"),
    "compute": (("cluster", "compute"), "model"),
}
"""The scenario field each user object of :func:`simsgp.run` stands in for."""


def jsonable(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, inf) replaced by ``None``, numpy scalars as Python ones.

    JSON has no NaN or Infinity; standard parsers reject the tokens that
    :func:`json.dumps` writes for them by default.

    Examples
    --------
    >>> jsonable({"a": [1.0, float("nan"), np.float64("inf")], "b": (np.int64(2), "x")})
    {'a': [1.0, None, None], 'b': [2, 'x']}
    """
    if isinstance(data, dict):
        return {key: jsonable(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [jsonable(value) for value in data]
    if isinstance(data, np.generic):
        data = data.item()
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


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
        Per-iteration, per-node arrays (see :data:`simsgp.sim.records.FIELDS`).
    evaluations : dict of ndarray
        Loss, accuracy and consensus of the node models against iterations and
        simulated time, one entry per evaluation point (see
        :data:`simsgp.report.metrics.EVALUATION_FIELDS`).
    messages : ndarray, shape (k, 5), or None
        With ``scenario.trace``: ``src, dst, t_send, t_delivered, nbytes`` of
        every message in delivery order (hosts after the workers are servers).
    params : ndarray, shape (nodes, d)
        Final de-biased parameters ``z = x / w`` of every node.
    weights : ndarray, shape (nodes,)
        Final push-sum weights (all ones for algorithms without push-sum).
    summary : dict
        Summary metrics (see :func:`simsgp.report.metrics.summarize`).
    custom : dict of str
        What was given beside the scenario (``"task"``, ``"graph"``,
        ``"compute"``: a line describing each user object); those scenario
        fields read ``"custom"`` in :meth:`to_dict`.
    network : dict of ndarray or None
        The bytes every link carried, sampled during the run (see
        :meth:`simsgp.sim.linkload.LinkSampler.finish`): ``time`` (k,),
        ``carried`` (k, links), ``capacity`` and ``names`` (links,).
    """

    scenario: Scenario
    version: str
    records: dict[str, np.ndarray]
    evaluations: dict[str, np.ndarray]
    messages: np.ndarray | None
    params: np.ndarray
    weights: np.ndarray
    summary: dict[str, Any]
    custom: dict[str, str] = field(default_factory=dict)
    network: dict[str, np.ndarray] | None = None

    @classmethod
    def from_run(
        cls,
        scenario: Scenario,
        records: dict[str, np.ndarray],
        evaluations: list[tuple[float, ...]],
        messages: list[tuple[int, int, float, float, float]] | None,
        x: np.ndarray,
        w: np.ndarray,
        summary: dict[str, Any],
        custom: dict[str, str] | None = None,
        network: dict[str, np.ndarray] | None = None,
    ) -> Result:
        """Assemble a result from a finished run's state (``custom``, ``network``: see the attributes)."""
        table = np.array(evaluations, dtype=float).reshape(len(evaluations), len(EVALUATION_FIELDS))
        columns = {name: table[:, k] for k, name in enumerate(EVALUATION_FIELDS)}
        log = None if messages is None else np.array(messages, dtype=float).reshape(len(messages), 5)
        return cls(scenario, __version__, records, columns, log, debias(x, w), w.copy(), summary, dict(custom or {}), network)

    def to_dict(self) -> dict[str, Any]:
        """``scenario`` (resolved), ``version``, ``custom``, ``summary`` and ``evaluations`` as plain data (NaN and inf as None).

        A field replaced by a user object reads ``"custom"`` (``task.name``,
        ``algorithm.graph``, ``cluster.compute.model``); ``custom`` describes it.
        """
        scenario = to_dict(self.scenario)
        for key, (table, name) in _CUSTOM_FIELDS.items():
            if key in self.custom:
                section = scenario
                for part in table:
                    section = section[part]
                section[name] = "custom"
        return jsonable(
            {
                "scenario": scenario,
                "version": self.version,
                "custom": self.custom,
                "summary": self.summary,
                "evaluations": {k: col.tolist() for k, col in self.evaluations.items()},
            }
        )

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as strict JSON text: ``null`` for NaN and inf (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)
