"""Logical communication graphs of gossip training: schedules, mixing matrices, checks.

A :class:`GraphSchedule` says, for every iteration ``t``, to which out-peers each
node pushes. The built-in schedules reproduce the official SGP code
(facebookresearch/stochastic_gradient_push, ``gossip/graph_manager.py`` and
``gossip/gossiper.py``) exactly:

- every rank ``r`` owns a *phone book*, a list of peers built once; the
  de-duplication in ``GraphManager._add_peers`` compares an ``int`` with
  ``Edge`` objects and never fires, so duplicate entries are kept;
- iteration 0 uses phone-book entries ``0 .. k - 1`` (``k = peers_per_itr``);
  after each gossip step a *dynamic* graph adds ``k`` to every index modulo the
  phone-book length (``_rotate_group_indices``), so iteration ``t`` uses entries
  ``t k .. t k + k - 1``; a static graph (``ring``) never rotates;
- the bipartite graphs mark even ranks passive and only pair ranks of opposite
  parity. Passive ranks still push to their phone-book peers; the flag only makes
  them receive before they send (``PushPull``, ``BilatPushPull``).

Mixing uses uniform weights: a node with ``k`` out-peers keeps ``1 / (k + 1)``
of its mass and sends ``1 / (k + 1)`` to each out-peer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import gcd, lcm

import networkx as nx
import numpy as np

from simsgp.errors import GraphError

__all__ = [
    "GRAPHS",
    "GraphSchedule",
    "check_column_stochastic",
    "check_doubly_stochastic",
    "check_strongly_connected",
    "describe",
    "from_digraph",
    "is_column_stochastic",
    "is_doubly_stochastic",
    "is_row_stochastic",
    "make",
    "spectral_gap",
    "union_is_strongly_connected",
]

GRAPHS: tuple[str, ...] = (
    "dynamic-directed-exponential",
    "npeer-dynamic-directed-exponential",
    "dynamic-bipartite-exponential",
    "dynamic-directed-linear",
    "dynamic-bipartite-linear",
    "ring",
    "complete",
)

_Phase = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class GraphSchedule:
    """A periodic communication schedule: each node's out-peers at each iteration.

    Parameters
    ----------
    name : str
        Name of the graph, e.g. ``"ring"``.
    n : int
        Number of nodes, labelled ``0 .. n - 1``.
    peers_per_itr : int
        Nominal number of out-peers per node and iteration (the largest
        out-degree for a custom graph).
    phases : tuple of tuple of tuple of int
        ``phases[t][i]`` are node ``i``'s out-peers at iteration ``t`` for one
        cycle; duplicates are sent twice. Trimmed to its shortest repeating
        cycle on construction.
    passive : frozenset of int, optional
        Nodes that receive before they send (even ranks of the bipartite graphs).

    Attributes
    ----------
    period : int
        Smallest number of iterations after which ``out_peers`` repeats exactly.

    Examples
    --------
    >>> s = GraphSchedule("pairs", 2, 1, (((1,), (0,)),))
    >>> s.period, s.out_peers(7), s.in_peers(7)
    (1, [[1], [0]], [[1], [0]])
    """

    name: str
    n: int
    peers_per_itr: int
    phases: tuple[_Phase, ...]
    period: int = field(init=False)
    passive: frozenset[int] = frozenset()
    _out: list[list[list[int]]] = field(init=False, repr=False, compare=False)
    _in: list[list[list[int]]] = field(init=False, repr=False, compare=False)
    _flat: list[tuple[np.ndarray, np.ndarray]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_phases(self.n, self.phases, self.passive)
        phases = _shortest_cycle(tuple(tuple(tuple(p) for p in phase) for phase in self.phases))
        object.__setattr__(self, "phases", phases)
        object.__setattr__(self, "period", len(phases))
        object.__setattr__(self, "_out", [[list(p) for p in phase] for phase in phases])
        object.__setattr__(self, "_in", [_invert(self.n, phase) for phase in phases])
        object.__setattr__(self, "_flat", [_flat_weights(self.n, phase) for phase in phases])

    def out_peers(self, t: int) -> list[list[int]]:
        """Every node's out-peers at iteration ``t``, in O(1).

        Returns the cached lists of the phase ``t % period``; do not modify them.

        Examples
        --------
        >>> make("dynamic-directed-exponential", 4).out_peers(1)
        [[3], [0], [1], [2]]
        """
        return self._out[t % self.period]

    def in_peers(self, t: int) -> list[list[int]]:
        """Every node's in-peers at iteration ``t``: sorted, one entry per message.

        Examples
        --------
        >>> make("ring", 4, 2).in_peers(0)
        [[1, 3], [0, 2], [1, 3], [0, 2]]
        """
        return self._in[t % self.period]

    def mixing_matrix(self, t: int) -> np.ndarray:
        """The column-stochastic push-sum matrix of iteration ``t``.

        Column ``j`` holds node ``j``'s weights: ``P[j, j] = 1 / (k_j + 1)`` and
        ``P[i, j] += 1 / (k_j + 1)`` for each out-peer ``i`` (duplicates add up),
        ``k_j = len(out_peers(t)[j])``. A node with no out-peers keeps everything.
        A node listed as its own out-peer keeps that share too (the official code
        would lose it, since it never receives from itself).

        Examples
        --------
        >>> make("ring", 3).mixing_matrix(0)
        array([[0.5, 0. , 0.5],
               [0.5, 0.5, 0. ],
               [0. , 0.5, 0.5]])
        """
        flat_index, weights = self._flat[t % self.period]
        return np.bincount(flat_index, weights=weights, minlength=self.n * self.n).reshape(self.n, self.n)


def _check_phases(n: int, phases: Sequence[Sequence[Sequence[int]]], passive: frozenset[int]) -> None:
    """Raise GraphError unless ``phases`` is a non-empty cycle of valid out-peer lists."""
    if n < 2:
        raise GraphError(f"n={n}; a communication graph needs n >= 2 nodes")
    if len(phases) == 0:
        raise GraphError("phases is empty; a schedule needs at least one iteration")
    for t, phase in enumerate(phases):
        if len(phase) != n:
            raise GraphError(f"phases[{t}] lists {len(phase)} nodes; expected n={n}")
        for i, peers in enumerate(phase):
            bad = [p for p in peers if not 0 <= p < n]
            if bad:
                raise GraphError(f"phases[{t}][{i}] has peers {bad}; allowed are 0..{n - 1}")
    if not passive <= set(range(n)):
        raise GraphError(f"passive={sorted(passive)}; allowed are nodes 0..{n - 1}")


def _shortest_cycle(phases: tuple[_Phase, ...]) -> tuple[_Phase, ...]:
    """The shortest prefix of ``phases`` whose repetition gives ``phases``."""
    length = len(phases)
    period = next(d for d in range(1, length + 1) if length % d == 0 and phases[:d] * (length // d) == phases)
    return phases[:period]


def _invert(n: int, phase: _Phase) -> list[list[int]]:
    """In-peer lists (sorted, with multiplicity) of one phase's out-peer lists."""
    incoming: list[list[int]] = [[] for _ in range(n)]
    for src, peers in enumerate(phase):
        for dst in peers:
            incoming[dst].append(src)
    return [sorted(srcs) for srcs in incoming]


def _flat_weights(n: int, phase: _Phase) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``i * n + j`` and weights of one phase's mixing matrix entries."""
    rows = [i for j, peers in enumerate(phase) for i in (j, *peers)]
    cols = [j for j, peers in enumerate(phase) for _ in range(len(peers) + 1)]
    weights = [1.0 / (len(peers) + 1) for peers in phase for _ in range(len(peers) + 1)]
    return np.asarray(rows, dtype=np.int64) * n + np.asarray(cols, dtype=np.int64), np.asarray(weights)


# ---------------------------------------------------------------------------
# Phone books of the official code, one function per graph class.


def _powers_up_to(base: int, limit: int) -> int:
    """How many ``i >= 0`` have ``base**i <= limit``, in exact integer arithmetic.

    The official code computes ``int(log(limit, base)) + 1`` in floating point.
    For ``base = 2`` this is exact below 2**48, but for other bases it can round
    down at exact powers: ``log(243, 3)`` is 4.999..., so the official
    ``npeer-dynamic-directed-exponential`` graph with k = 2 (base 3) has one
    distance fewer than this function gives at n = 244, 59050, 1594324, ...,
    and with k = 9 (base 10) at n = 1001, 1000001, ...
    """
    count, power = 0, 1
    while power <= limit:
        count, power = count + 1, power * base
    return count


def _directed_exponential_book(rank: int, n: int, k: int) -> list[int]:
    """``DynamicDirectedExponentialGraph``: rank +- 2**i for i = 0 .. floor(log2(n - 1))."""
    del k
    # (n - 1).bit_length() == floor(log2(n - 1)) + 1 exactly; the official float
    # int(log(n - 1, 2)) agrees for every n below 2**48 + 1 but not beyond.
    return [peer for i in range((n - 1).bit_length()) for peer in ((rank + 2**i) % n, (rank - 2**i) % n)]


def _npeer_exponential_book(rank: int, n: int, k: int) -> list[int]:
    """``NPeerDynamicDirectedExponentialGraph``: rank + j (k + 1)**i, j = 1 .. k."""
    return [(rank + j * (k + 1) ** i) % n for i in range(_powers_up_to(k + 1, n - 1)) for j in range(1, k + 1)]


def _is_passive(rank: int) -> bool:
    """The bipartite graphs' rule: even ranks are passive."""
    return rank % 2 == 0


def _bipartite_book(rank: int, n: int, distances: Sequence[int]) -> list[int]:
    """Peers rank +- d kept only when both lie on the other side of the bipartition."""
    book = []
    for d in distances:
        forward, backward = (rank + d) % n, (rank - d) % n
        if _is_passive(forward) != _is_passive(rank) and _is_passive(backward) != _is_passive(rank):
            book += [forward, backward]
    return book


def _bipartite_exponential_book(rank: int, n: int, k: int) -> list[int]:
    """``DynamicBipartiteExponentialGraph``: distances 1, then 1 + 2**i for i >= 1."""
    del k
    distances = [1] + [1 + 2**i for i in range(1, (n - 1).bit_length())]
    return _bipartite_book(rank, n, distances)


def _directed_linear_book(rank: int, n: int, k: int) -> list[int]:
    """``DynamicDirectedLinearGraph``: rank +- i for odd i = 1 .. n - 1."""
    del k
    return [peer for i in range(1, n, 2) for peer in ((rank + i) % n, (rank - i) % n)]


def _bipartite_linear_book(rank: int, n: int, k: int) -> list[int]:
    """``DynamicBipartiteLinearGraph``: rank +- i for i = 1 .. n - 1, across the bipartition."""
    del k
    return _bipartite_book(rank, n, range(1, n))


def _ring_book(rank: int, n: int, k: int) -> list[int]:
    """``RingGraph``: rank + 1, rank - 1."""
    del k
    return [(rank + 1) % n, (rank - 1) % n]


_Book = Callable[[int, int, int], list[int]]

# name -> (phone-book builder, is_dynamic_graph() of the official class)
_BOOKS: dict[str, tuple[_Book, bool]] = {
    "dynamic-directed-exponential": (_directed_exponential_book, True),
    "npeer-dynamic-directed-exponential": (_npeer_exponential_book, True),
    "dynamic-bipartite-exponential": (_bipartite_exponential_book, True),
    "dynamic-directed-linear": (_directed_linear_book, True),
    "dynamic-bipartite-linear": (_bipartite_linear_book, True),
    "ring": (_ring_book, False),
}


def _rotating_phases(books: list[list[int]], k: int, dynamic: bool) -> tuple[_Phase, ...]:
    """Out-peers per iteration: entries ``t k .. t k + k - 1`` of each phone book (mod its length).

    A static graph keeps the entries of iteration 0. A dynamic one repeats after
    ``L / gcd(L, k)`` iterations for phone-book length ``L``.
    """
    cycle = lcm(*(len(book) // gcd(len(book), k) for book in books)) if dynamic else 1
    return tuple(
        tuple(tuple(book[(t * k + j) % len(book)] for j in range(k)) for book in books) for t in range(cycle)
    )


def _complete(n: int) -> GraphSchedule:
    """Every node pushes to all others every iteration."""
    phase = tuple(tuple(i for i in range(n) if i != j) for j in range(n))
    return GraphSchedule("complete", n, n - 1, (phase,))


def make(name: str, n: int, peers_per_itr: int = 1) -> GraphSchedule:
    """A built-in schedule of the official SGP code (or ``"complete"``).

    Parameters
    ----------
    name : str
        One of :data:`GRAPHS`.
    n : int
        Number of nodes, at least 2; even for the bipartite graphs (the official
        code leaves a passive rank with an empty phone book otherwise).
    peers_per_itr : int, optional
        Out-peers per node and iteration, 1 up to the phone-book length.
        Ignored by ``"complete"``, whose nodes push to all ``n - 1`` others.

    Returns
    -------
    GraphSchedule

    Raises
    ------
    GraphError
        For an unknown name, ``n < 2``, an odd ``n`` for a bipartite graph, or
        ``peers_per_itr`` outside ``1 .. len(phone book)``.

    Examples
    --------
    >>> s = make("dynamic-directed-exponential", 8)
    >>> s.period, [s.out_peers(t)[0][0] for t in range(s.period)]
    (6, [1, 7, 2, 6, 4, 4])
    >>> make("ring", 8, peers_per_itr=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: peers_per_itr=3 is out of range for 'ring' with n=8; allowed are 1..2 (its phone-book ...
    """
    if name not in GRAPHS:
        raise GraphError(f"graph name={name!r} is unknown; allowed are {', '.join(GRAPHS)}")
    if n < 2:
        raise GraphError(f"n={n}; graph {name!r} needs n >= 2 nodes")
    if name == "complete":
        return _complete(n)
    if "bipartite" in name and n % 2:
        raise GraphError(f"n={n} is odd; graph {name!r} needs an even n (even ranks passive, odd ranks active)")
    if peers_per_itr < 1:
        raise GraphError(
            f"peers_per_itr={peers_per_itr} is out of range for {name!r}; allowed are 1 up to its phone-book length"
        )
    build, dynamic = _BOOKS[name]
    books = [build(rank, n, peers_per_itr) for rank in range(n)]
    length = len(books[0])
    if peers_per_itr > length:
        raise GraphError(
            f"peers_per_itr={peers_per_itr} is out of range for {name!r} with n={n}; "
            f"allowed are 1..{length} (its phone-book length)"
        )
    passive = frozenset(filter(_is_passive, range(n))) if "bipartite" in name else frozenset()
    return GraphSchedule(name, n, peers_per_itr, _rotating_phases(books, peers_per_itr, dynamic), passive)


def from_digraph(g: nx.DiGraph, *, name: str = "digraph") -> GraphSchedule:
    """A static schedule: each node pushes to all its successors every iteration.

    Parameters
    ----------
    g : networkx.DiGraph
        Nodes must be exactly ``0 .. n - 1`` with ``n >= 2``; self loops are
        ignored. Out-peers are listed in increasing order.
    name : str, optional
        Name of the schedule.

    Returns
    -------
    GraphSchedule
        Period 1; ``peers_per_itr`` is the largest out-degree.

    Raises
    ------
    GraphError
        If ``g`` is undirected or its nodes are not ``0 .. n - 1``.

    Examples
    --------
    >>> import networkx as nx
    >>> s = from_digraph(nx.DiGraph([(0, 1), (0, 2), (1, 0), (2, 2)]))
    >>> s.out_peers(0), s.peers_per_itr
    ([[1, 2], [0], []], 2)
    """
    if not g.is_directed():
        raise GraphError(f"g is an undirected {type(g).__name__}; expected a networkx DiGraph")
    n = g.number_of_nodes()
    if set(g.nodes) != set(range(n)):
        extra = sorted(map(repr, set(g.nodes) - set(range(n))))
        raise GraphError(f"g has nodes {', '.join(extra)}; the nodes must be exactly 0..{n - 1}")
    phase = tuple(tuple(sorted(j for j in g.successors(i) if j != i)) for i in range(n))
    return GraphSchedule(name, n, max((len(peers) for peers in phase), default=0), (phase,))


# ---------------------------------------------------------------------------
# Checks on matrices.


def _square(P: np.ndarray) -> np.ndarray:
    """``P`` as a float array, or GraphError unless it is a square matrix."""
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise GraphError(f"P has shape {P.shape}; expected a square (n, n) matrix")
    return P


def _first_bad(sums: np.ndarray, atol: float) -> int | None:
    """Index of the first sum farther than ``atol`` from 1, or None."""
    bad = np.flatnonzero(~(np.abs(sums - 1.0) <= atol))  # NaN counts as bad
    return int(bad[0]) if bad.size else None


def is_column_stochastic(P: np.ndarray, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` is nonnegative and every column sums to 1 within ``atol``.

    Examples
    --------
    >>> import numpy as np
    >>> is_column_stochastic(np.array([[0.5, 1.0], [0.5, 0.0]]))
    True
    >>> is_column_stochastic(np.array([[0.5, 1.0], [0.4, 0.0]]))
    False
    """
    P = _square(P)
    return bool(np.all(P >= -atol)) and _first_bad(P.sum(axis=0), atol) is None


def is_row_stochastic(P: np.ndarray, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` is nonnegative and every row sums to 1 within ``atol``.

    Examples
    --------
    >>> import numpy as np
    >>> is_row_stochastic(np.array([[0.5, 0.5], [1.0, 0.0]]))
    True
    """
    return is_column_stochastic(_square(P).T, atol=atol)


def is_doubly_stochastic(P: np.ndarray, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` is both row- and column-stochastic within ``atol``.

    Examples
    --------
    >>> is_doubly_stochastic(make("ring", 5).mixing_matrix(0))
    True
    """
    return is_column_stochastic(P, atol=atol) and is_row_stochastic(P, atol=atol)


def check_column_stochastic(P: np.ndarray, *, atol: float = 1e-12) -> None:
    """Raise GraphError naming the first negative entry or column not summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> check_column_stochastic(np.array([[0.5, 1.0], [0.4, 0.0]]))
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: column 0 of the mixing matrix sums to 0.9; expected 1 (atol=1e-12)
    """
    P = _square(P)
    _check_nonnegative(P)
    _check_sums(P, "column", atol)


def check_doubly_stochastic(P: np.ndarray, *, atol: float = 1e-12) -> None:
    """Raise GraphError naming the first negative entry or column or row not summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> check_doubly_stochastic(np.array([[0.5, 1.0], [0.5, 0.0]]))
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: row 0 of the mixing matrix sums to 1.5; expected 1 (atol=1e-12)
    """
    P = _square(P)
    _check_nonnegative(P)
    _check_sums(P, "column", atol)
    _check_sums(P, "row", atol)


def _check_nonnegative(P: np.ndarray, *, atol: float = 1e-12) -> None:
    """GraphError naming the first entry of ``P`` below ``-atol`` (or NaN)."""
    bad = np.argwhere(~(P >= -atol))
    if bad.size:
        i, j = bad[0]
        raise GraphError(f"mixing matrix entry [{i}, {j}] is {P[i, j]:.6g}; expected >= 0")


def _check_sums(P: np.ndarray, kind: str, atol: float) -> None:
    """GraphError naming the first column (``kind="column"``) or row of ``P`` not summing to 1."""
    sums = P.sum(axis=0 if kind == "column" else 1)
    bad = _first_bad(sums, atol)
    if bad is not None:
        raise GraphError(f"{kind} {bad} of the mixing matrix sums to {sums[bad]:.15g}; expected 1 (atol={atol:g})")


# ---------------------------------------------------------------------------
# Checks on schedules.


def _union_graph(schedule: GraphSchedule) -> nx.DiGraph:
    """All edges ``j -> i`` used during one period."""
    g = nx.DiGraph()
    g.add_nodes_from(range(schedule.n))
    for t in range(schedule.period):
        g.add_edges_from((j, i) for j, peers in enumerate(schedule.out_peers(t)) for i in peers)
    return g


def union_is_strongly_connected(schedule: GraphSchedule) -> bool:
    """Whether the union of the edges over one period is strongly connected.

    Push-sum averages over all nodes only if it is.

    Examples
    --------
    >>> import networkx as nx
    >>> union_is_strongly_connected(make("dynamic-directed-exponential", 16))
    True
    >>> union_is_strongly_connected(from_digraph(nx.DiGraph([(0, 1), (1, 0), (2, 3), (3, 2)])))
    False
    """
    return nx.is_strongly_connected(_union_graph(schedule))


def check_strongly_connected(schedule: GraphSchedule) -> None:
    """Raise GraphError unless the union over one period is strongly connected.

    Examples
    --------
    >>> import networkx as nx
    >>> check_strongly_connected(from_digraph(nx.DiGraph([(0, 1), (1, 2)])))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: graph 'digraph' with n=3 is not strongly connected over one period ...
    """
    if not union_is_strongly_connected(schedule):
        components = sorted(sorted(c) for c in nx.strongly_connected_components(_union_graph(schedule)))
        raise GraphError(
            f"graph {schedule.name!r} with n={schedule.n} is not strongly connected over one period "
            f"({_iterations(schedule.period)}): {len(components)} strongly connected components, e.g. {components[0]}"
        )


def _iterations(count: int) -> str:
    """``"1 iteration"``, ``"6 iterations"``."""
    return f"{count} iteration{'s' * (count != 1)}"


def spectral_gap(schedule: GraphSchedule) -> float:
    """``1 - |lambda_2|`` of the product of the mixing matrices over one period.

    The product is ``P(period - 1) @ ... @ P(0)``, the map of one period of
    gossip; ``|lambda_2|`` is its second largest eigenvalue modulus (the largest
    is 1 for column-stochastic matrices). The consensus error of push-sum shrinks
    roughly by the factor ``|lambda_2|`` per period: a gap of 1 means exact
    averaging within one period, a gap of 0 no guaranteed mixing (e.g. a union
    that is not strongly connected). Rounding is clipped into ``[0, 1]``.

    Examples
    --------
    >>> round(spectral_gap(make("complete", 8)), 12)
    1.0
    >>> import math
    >>> math.isclose(spectral_gap(make("ring", 8)), 1 - math.cos(math.pi / 8))
    True
    """
    product = np.eye(schedule.n)
    for t in range(schedule.period):
        product = schedule.mixing_matrix(t) @ product
    moduli = np.sort(np.abs(np.linalg.eigvals(product)))[::-1]
    return float(np.clip(1.0 - moduli[1], 0.0, 1.0))


# ---------------------------------------------------------------------------
# Text report.

_SHOW_ALL_UP_TO = 32
_SHOWN_WHEN_LARGE = 8


def _peer_table(schedule: GraphSchedule, iterations: int) -> list[str]:
    """Lines of a table: one row per node, one column of out-peers per iteration."""
    nodes = schedule.n if schedule.n <= _SHOW_ALL_UP_TO else _SHOWN_WHEN_LARGE
    cells = [[",".join(map(str, schedule.out_peers(t)[i])) or "-" for t in range(iterations)] for i in range(nodes)]
    heads = [f"t={t}" for t in range(iterations)]
    widths = [max(len(heads[t]), *(len(row[t]) for row in cells)) for t in range(iterations)]
    node_width = max(len("node"), len(str(nodes - 1)))

    def line(first: str, row: list[str]) -> str:
        return "  ".join([first.rjust(node_width), *(c.ljust(w) for c, w in zip(row, widths))]).rstrip()

    lines = [line("node", heads), *(line(str(i), row) for i, row in enumerate(cells))]
    if nodes < schedule.n:
        lines.append(f"(first {nodes} of {schedule.n} nodes shown)")
    return lines


def _verdict(flags: list[bool]) -> str:
    """'yes' when all hold, else 'no' with the failing iterations."""
    failing = [str(t) for t, ok in enumerate(flags) if not ok]
    return "yes" if not failing else f"no (t = {', '.join(failing)})"


def describe(schedule: GraphSchedule, iterations: int | None = None) -> str:
    """A readable report of a schedule: out-peers per iteration, checks, spectral gap.

    Parameters
    ----------
    schedule : GraphSchedule
    iterations : int, optional
        Number of iterations to list (default: one period). The checks always
        cover one period. Beyond 32 nodes only the first 8 are listed.

    Returns
    -------
    str

    Examples
    --------
    >>> print(describe(make("dynamic-directed-exponential", 4)))
    graph: dynamic-directed-exponential
    nodes: 4  peers_per_itr: 1  period: 4 iterations
    out-peers (row: node, column: iteration)
    node  t=0  t=1  t=2  t=3
       0  1    3    2    2
       1  2    0    3    3
       2  3    1    0    0
       3  0    2    1    1
    column-stochastic: yes
    doubly-stochastic: yes
    union over one period strongly connected: yes
    spectral gap (1 - |lambda_2| of the period product): 1
    """
    shown = schedule.period if iterations is None else iterations
    matrices = [schedule.mixing_matrix(t) for t in range(schedule.period)]
    lines = [
        f"graph: {schedule.name}",
        f"nodes: {schedule.n}  peers_per_itr: {schedule.peers_per_itr}  period: {_iterations(schedule.period)}",
    ]
    if schedule.passive:
        lines.append(f"passive nodes (receive before sending): {', '.join(map(str, sorted(schedule.passive)))}")
    lines += ["out-peers (row: node, column: iteration)", *_peer_table(schedule, shown)]
    lines += [
        f"column-stochastic: {_verdict([is_column_stochastic(P) for P in matrices])}",
        f"doubly-stochastic: {_verdict([is_doubly_stochastic(P) for P in matrices])}",
        f"union over one period strongly connected: {'yes' if union_is_strongly_connected(schedule) else 'no'}",
        f"spectral gap (1 - |lambda_2| of the period product): {spectral_gap(schedule):.6g}",
    ]
    return "\n".join(lines)
