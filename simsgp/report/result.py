"""The outcome of one run: records, final parameters, summary, scenario and version."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp._version import __version__
from simsgp.errors import ScenarioError, SimsgpError, shown
from simsgp.learn.pushsum import debias
from simsgp.report.metrics import EVALUATION_FIELDS
from simsgp.report.summary import check_summary, summary_html, summary_line
from simsgp.scenario import Scenario, from_dict, resolve, to_dict
from simsgp.sim.records import FIELDS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result", "jsonable"]

_CUSTOM_FIELDS = {"task": "task.name", "graph": "algorithm.graph", "compute": "cluster.compute.model"}
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

    def __repr__(self) -> str:
        """One line: ``<Result sgp, 8 nodes, 200 iterations, 0.1818 s/it, accuracy 0.9554>``."""
        return f"<Result {summary_line(self)}>"

    def _repr_html_(self) -> str:
        """The command line's summary as an HTML table, for Jupyter (see :func:`simsgp.report.summary.summary_html`)."""
        return summary_html(self)

    def records_frame(self) -> pd.DataFrame:
        """The records in long format: one row per (iteration, node), in that order.

        Returns
        -------
        pandas.DataFrame
            Columns ``iteration`` (from 1), ``node`` (from 0) and each of
            :data:`simsgp.sim.records.FIELDS`; the row of iteration ``t`` and
            node ``i`` holds ``records[field][t - 1, i]`` (NaN where that node
            did not finish that iteration).

        Raises
        ------
        SimsgpError
            A result read from JSON written without its arrays (see :meth:`to_dict`).

        Examples
        --------
        >>> from simsgp import run
        >>> frame = run({"iterations": 3, "cluster": {"nodes": 2}}).records_frame()
        >>> frame[["iteration", "node"]].values.tolist(), list(frame.columns[2:]) == list(FIELDS)
        ([[1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1]], True)
        """
        import pandas as pd  # only for frames: the engine and the command line never need pandas

        if not self.records:
            raise SimsgpError(
                "records_frame: this result has no records (read from JSON written without them); "
                "write it with to_json(arrays=True) to keep them"
            )
        iterations, nodes = self.records[FIELDS[0]].shape
        columns = {
            "iteration": np.repeat(np.arange(1, iterations + 1), nodes),
            "node": np.tile(np.arange(nodes), iterations),
        }
        columns.update({name: self.records[name].reshape(-1) for name in FIELDS})
        return pd.DataFrame(columns)

    def evaluations_frame(self) -> pd.DataFrame:
        """The evaluation points: one row each, the columns of :data:`simsgp.report.metrics.EVALUATION_FIELDS`.

        ``iteration`` is an integer column; ``loss`` is NaN in a timing-only
        run and ``accuracy`` for a task without class labels.

        Examples
        --------
        >>> from simsgp import run
        >>> frame = run({"iterations": 4, "eval_every": 2, "cluster": {"nodes": 2}}).evaluations_frame()
        >>> frame["iteration"].tolist(), list(frame.columns) == list(EVALUATION_FIELDS)
        ([2, 4], True)
        """
        import pandas as pd  # only for frames: the engine and the command line never need pandas

        frame = pd.DataFrame({name: self.evaluations[name] for name in EVALUATION_FIELDS})
        return frame.astype({"iteration": np.int64})

    def to_dict(self, *, arrays: bool = False) -> dict[str, Any]:
        """The result as plain data (NaN and inf as None), which :meth:`from_dict` reads back.

        Parameters
        ----------
        arrays : bool, default False
            Also hold the arrays: ``records`` (each field a list of rows, one
            per iteration), ``params`` (a row per node), ``weights`` and
            ``messages`` (rows of five, or None when not traced). They are
            large: ``7 x iterations x nodes`` numbers of records and
            ``nodes x parameters`` of params (a megabyte of JSON is about
            50 000 numbers).

        Returns
        -------
        dict
            ``scenario`` (resolved, as :func:`simsgp.scenario.to_dict`),
            ``version``, ``custom``, ``summary`` and ``evaluations`` (a list
            per field), and the arrays when asked for. A field replaced by a
            user object reads ``"custom"`` (``task.name``,
            ``algorithm.graph``, ``cluster.compute.model``); ``custom``
            describes the object and ``replaced`` (only then present) holds
            the field's value in :attr:`scenario`, by dotted name.
        """
        scenario = to_dict(self.scenario)
        replaced = {}
        for key, dotted in _CUSTOM_FIELDS.items():
            if key in self.custom:
                section, name = _section(scenario, dotted)
                replaced[dotted] = section.get(name)
                section[name] = "custom"
        data: dict[str, Any] = {
            "scenario": scenario,
            "version": self.version,
            "custom": self.custom,
            **({"replaced": replaced} if replaced else {}),
            "summary": self.summary,
            "evaluations": {k: col.tolist() for k, col in self.evaluations.items()},
        }
        if arrays:
            data["records"] = {k: values.tolist() for k, values in self.records.items()}
            data["params"] = self.params.tolist()
            data["weights"] = self.weights.tolist()
            data["messages"] = None if self.messages is None else self.messages.tolist()
        return jsonable(data)

    def to_json(self, *, arrays: bool = False, **kwargs: Any) -> str:
        """:meth:`to_dict` as strict JSON text: ``null`` for NaN and inf (``kwargs`` go to :func:`json.dumps`).

        :meth:`from_json` reads it back; ``arrays=True`` keeps the records,
        parameters, weights and messages too (see :meth:`to_dict`).
        """
        return json.dumps(self.to_dict(arrays=arrays), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Any) -> Result:
        """Read back what :meth:`to_dict` gave.

        What comes back: ``scenario`` (validated by
        :func:`simsgp.scenario.from_dict`, then resolved), ``version`` (that
        of the simsgp that made the result), ``custom``, ``summary`` and
        ``evaluations``; ``records``, ``params``, ``weights`` and
        ``messages`` only when they were written (``arrays=True``), else an
        empty dict, empty arrays and None. Numbers written as ``null`` (NaN
        and inf) read back as None in ``summary`` and as NaN in the arrays;
        the end of a straggler or failure window reads back as inf, the only
        value it can have been. A scenario field a user object stood in for
        (it reads ``"custom"``) reads back as ``replaced`` has it, so
        ``scenario`` is the one the result had. Keys it does not know are
        ignored. The algorithm and task must be known to this process (one of
        your own registered first) and the files the scenario names must exist.

        Raises
        ------
        SimsgpError
            ``data`` is not such a mapping: a key missing, of the wrong type,
            or a scenario that does not validate; the message names the key.

        Examples
        --------
        >>> from simsgp import run
        >>> result = run({"iterations": 4, "cluster": {"nodes": 2}})
        >>> back = Result.from_dict(result.to_dict(arrays=True))
        >>> back.scenario == result.scenario, back.summary == result.to_dict()["summary"]
        (True, True)
        >>> bool(np.array_equal(back.records["end"], result.records["end"]))
        True
        >>> Result.from_dict({"version": "0.1.0"})
        Traceback (most recent call last):
        ...
        simsgp.errors.SimsgpError: Result.from_dict: no 'scenario'; expected the output of Result.to_dict
        """
        return _read(data, "Result.from_dict", "Result.to_dict")

    @classmethod
    def from_json(cls, text: str | bytes) -> Result:
        """Read back what :meth:`to_json` wrote (see :meth:`from_dict` for what comes back).

        Raises
        ------
        SimsgpError
            ``text`` is not JSON, or not that of a result (see :meth:`from_dict`).

        Examples
        --------
        >>> from simsgp import run
        >>> result = run({"iterations": 4, "cluster": {"nodes": 2}})
        >>> Result.from_json(result.to_json()).to_json() == result.to_json()
        True
        >>> Result.from_json("{")
        Traceback (most recent call last):
        ...
        simsgp.errors.SimsgpError: Result.from_json: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            raise SimsgpError(f"Result.from_json: not JSON ({exc})") from None
        return _read(data, "Result.from_json", "Result.to_json")


_TOP_KEYS: dict[str, type] = {"scenario": dict, "version": str, "custom": dict, "summary": dict, "evaluations": dict}
"""The keys :meth:`Result.to_dict` always writes, with their JSON types."""


def _read(data: Any, name: str, writer: str) -> Result:
    """The result in ``data`` (see :meth:`Result.from_dict`); errors start with ``name`` and cite ``writer``."""
    try:
        if not isinstance(data, dict):
            raise SimsgpError(f"a JSON {_json_type(data)}, not an object")
        for key, kind in _TOP_KEYS.items():
            if key not in data:
                raise SimsgpError(f"no {key!r}")
            if not isinstance(data[key], kind):
                raise SimsgpError(f"{key!r} is a JSON {_json_type(data[key])}; expected a JSON {_json_type(kind())}")
        custom = data["custom"]
        bad = next((k for k, v in custom.items() if k not in _CUSTOM_FIELDS or not isinstance(v, str)), None)
        if bad is not None:
            raise SimsgpError(
                f"custom[{bad!r}]={shown(custom[bad])}; expected a description (a string) of one of {sorted(_CUSTOM_FIELDS)}"
            )
        scenario = _scenario(data["scenario"], custom, data.get("replaced"))
        check_summary(data["summary"], has_target=scenario.has_target)
        nodes = scenario.cluster.nodes
        evaluations = {
            field: _floats(data["evaluations"].get(field), f"evaluations[{field!r}]", (-1,)) for field in EVALUATION_FIELDS
        }
        if len({len(column) for column in evaluations.values()}) > 1:
            raise SimsgpError(f"the evaluations' columns {list(EVALUATION_FIELDS)} differ in length")
        records = {}
        if "records" in data:
            if not isinstance(data["records"], dict):
                raise SimsgpError(f"'records' is a JSON {_json_type(data['records'])}; expected a JSON object")
            records = {field: _floats(data["records"].get(field), f"records[{field!r}]", (-1, nodes)) for field in FIELDS}
            if len({values.shape for values in records.values()}) > 1:
                raise SimsgpError(f"the records' fields {list(FIELDS)} differ in shape")
        params = _floats(data["params"], "params", (nodes, -1)) if "params" in data else np.empty((0, 0))
        weights = _floats(data["weights"], "weights", (nodes,)) if "weights" in data else np.empty(0)
        messages = data.get("messages")
        log = None if messages is None else _floats(messages, "messages", (-1, 5))
    except SimsgpError as exc:
        raise SimsgpError(f"{name}: {exc}; expected the output of {writer}") from None
    return Result(
        scenario=scenario, version=data["version"], records=records, evaluations=evaluations, messages=log,
        params=params, weights=weights, summary=data["summary"], custom=dict(custom),
    )


def _scenario(data: dict[str, Any], custom: dict[str, str], replaced: Any) -> Scenario:
    """The resolved scenario in ``data``, each field a user object stood in for (see ``custom``) as ``replaced`` has it."""
    data = copy.deepcopy(data)
    for key in custom:
        dotted = _CUSTOM_FIELDS[key]
        if not isinstance(replaced, dict) or dotted not in replaced:
            raise SimsgpError(f"custom has {key!r} but 'replaced' has no {dotted!r}")
        section, name = _section(data, dotted)
        section[name] = replaced[dotted]
    cluster = data.get("cluster")
    for windows in ("stragglers", "failures"):  # JSON has no inf: a window that never ends was written as null
        for window in (cluster.get(windows) or []) if isinstance(cluster, dict) else []:
            if isinstance(window, dict) and "end" in window and window["end"] is None:
                window["end"] = math.inf
    try:
        return resolve(from_dict(data))
    except ScenarioError as exc:
        raise SimsgpError(f"scenario: {exc}") from None


def _section(data: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    """The table of nested ``data`` that holds the field ``dotted`` (made if missing), and the field's name in it."""
    *tables, name = dotted.split(".")
    section = data
    for part in tables:
        inner = section.setdefault(part, {})
        if not isinstance(inner, dict):
            raise SimsgpError(f"scenario {part!r} is a JSON {_json_type(inner)}; expected a JSON object")
        section = inner
    return section, name


def _floats(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` (nested lists of numbers and nulls) as a float array of ``shape`` (-1: any length); null is NaN."""
    if value is None:
        raise SimsgpError(f"no {name}")
    if not isinstance(value, list):
        raise SimsgpError(f"{name} is a JSON {_json_type(value)}; expected an array")
    cells = np.array(value, dtype=object)
    if not value and -1 in shape:  # no rows: the other lengths are known
        cells = cells.reshape([max(n, 0) for n in shape])
    if cells.ndim != len(shape) or any(0 <= n != have for n, have in zip(shape, cells.shape)):
        wanted = " x ".join("any" if n < 0 else str(n) for n in shape)
        raise SimsgpError(f"{name} is not an array of {wanted} numbers (rows of different lengths, or too few)")
    bad = next((cell for cell in cells.flat if cell is not None and type(cell) not in (int, float)), None)
    if bad is not None:
        raise SimsgpError(f"{name} holds {shown(bad)}; expected numbers (or null)")
    return cells.astype(float)


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
