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

Every official phone book is ``rank + d mod n`` for the same list of offsets
``d`` at every rank, so the built-in schedules are circulant.

Mixing uses uniform weights: a node with ``k`` out-peers keeps ``1 / (k + 1)``
of its mass and sends ``1 / (k + 1)`` to each out-peer.

The checks a run needs (:func:`check_column_stochastic` of
:meth:`GraphSchedule.sparse_mixing_matrix`, :func:`check_strongly_connected`)
work on sparse matrices and edge lists, in memory proportional to the number
of messages; only :meth:`GraphSchedule.mixing_matrix` builds a dense
``n x n`` array.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from math import gcd
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from simsgp.errors import GraphError, shown

__all__ = [
    "DENSE_GAP_NODES",
    "GRAPHS",
    "MAX_SCHEDULE_ENTRIES",
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

MAX_SCHEDULE_ENTRIES: int = 10_000_000
"""Most out-peer entries (messages) over one period that :func:`make` builds.

A schedule holds about 100 bytes per entry, about 300 once a run has used
every phase's out- and in-peer lists. ``dynamic-directed-exponential`` on
50 000 nodes lists 1.6 million; ``dynamic-directed-linear`` with
``peers_per_itr = n - 1`` lists ``n**2 (n - 1)``, a billion at ``n = 1024``,
and is refused.
"""

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
    _out: list[list[list[int]] | None] = field(init=False, repr=False, compare=False)
    """Per phase: the out-peer lists, built on first use."""
    _in: list[list[list[int]] | None] = field(init=False, repr=False, compare=False)
    """Per phase: the in-peer lists, built on first use."""
    _edges: list[tuple[np.ndarray, np.ndarray]] = field(init=False, repr=False, compare=False)
    """Per phase: every node's out-degree and all out-peers, node after node (int64 arrays)."""

    def __post_init__(self) -> None:
        _check_size(self.n, self.passive)
        if len(self.phases) == 0:
            raise GraphError("phases is empty; a schedule needs at least one iteration")
        checked = [_checked_phase(self.n, t, phase) for t, phase in enumerate(self.phases)]
        phases = _shortest_cycle(tuple(phase for phase, _ in checked))
        object.__setattr__(self, "phases", phases)
        object.__setattr__(self, "period", len(phases))
        object.__setattr__(self, "_edges", [edges for _, edges in checked[: len(phases)]])
        object.__setattr__(self, "_out", [None] * len(phases))
        object.__setattr__(self, "_in", [None] * len(phases))

    def out_peers(self, t: int) -> list[list[int]]:
        """Every node's out-peers at iteration ``t``, in O(1) once built.

        Returns the cached lists of the phase ``t % period`` (built on the
        first call for that phase); do not modify them.

        Examples
        --------
        >>> make("dynamic-directed-exponential", 4).out_peers(1)
        [[3], [0], [1], [2]]
        """
        phase = t % self.period
        peers = self._out[phase]
        if peers is None:
            peers = self._out[phase] = list(map(list, self.phases[phase]))
        return peers

    def in_peers(self, t: int) -> list[list[int]]:
        """Every node's in-peers at iteration ``t``: sorted, one entry per message.

        Cached per phase like :meth:`out_peers`.

        Examples
        --------
        >>> make("ring", 4, 2).in_peers(0)
        [[1, 3], [0, 2], [1, 3], [0, 2]]
        """
        phase = t % self.period
        peers = self._in[phase]
        if peers is None:
            peers = self._in[phase] = _invert(self.n, *self._edges[phase])
        return peers

    def mixing_matrix(self, t: int) -> np.ndarray:
        """The column-stochastic push-sum matrix of iteration ``t``, as a dense ``(n, n)`` array.

        Column ``j`` holds node ``j``'s weights: ``P[j, j] = 1 / (k_j + 1)`` and
        ``P[i, j] += 1 / (k_j + 1)`` for each out-peer ``i`` (duplicates add up),
        ``k_j = len(out_peers(t)[j])``. A node with no out-peers keeps everything.
        A node listed as its own out-peer keeps that share too (the official code
        would lose it, since it never receives from itself). It takes
        ``8 n**2`` bytes; :meth:`sparse_mixing_matrix` holds the same entries
        in memory proportional to the number of messages.

        Examples
        --------
        >>> make("ring", 3).mixing_matrix(0)
        array([[0.5, 0. , 0.5],
               [0.5, 0.5, 0. ],
               [0. , 0.5, 0.5]])
        """
        return self.sparse_mixing_matrix(t).toarray(order="C")

    def sparse_mixing_matrix(self, t: int) -> scipy.sparse.csc_array:
        """:meth:`mixing_matrix` of iteration ``t`` as a scipy sparse array (CSC, duplicates summed).

        Examples
        --------
        >>> P = make("dynamic-directed-exponential", 2, 2).sparse_mixing_matrix(0)
        >>> P.nnz, P.toarray().tolist() == make("dynamic-directed-exponential", 2, 2).mixing_matrix(0).tolist()
        (4, True)
        """
        degrees, targets = self._edges[t % self.period]
        starts = np.concatenate([[0], np.cumsum(degrees + 1)])  # column j: the node itself, then its out-peers
        rows = np.empty(starts[-1], dtype=np.int64)
        own = np.zeros(starts[-1], dtype=bool)
        own[starts[:-1]] = True
        rows[own], rows[~own] = np.arange(self.n), targets
        P = scipy.sparse.csc_array((np.repeat(1.0 / (degrees + 1.0), degrees + 1), rows, starts), shape=(self.n, self.n))
        P.sum_duplicates()
        return P


def _is_index(value: object) -> bool:
    """Whether ``value`` is an integer node number: a Python or numpy int, not a bool or float."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_size(n: int, passive: frozenset[int]) -> None:
    """GraphError unless ``n >= 2`` is an integer and ``passive`` holds only nodes ``0 .. n - 1``."""
    if not _is_index(n) or n < 2:
        raise GraphError(f"n={shown(n)}; a communication graph needs an integer n >= 2 nodes")
    if not all(_is_index(p) and 0 <= p < n for p in passive):
        raise GraphError(f"passive={shown(sorted(passive, key=repr))}; allowed are nodes 0..{n - 1}")


def _checked_phase(n: int, t: int, phase: Sequence[Sequence[int]]) -> tuple[_Phase, tuple[np.ndarray, np.ndarray]]:
    """Phase ``t`` as tuples of Python ints and as (out-degrees, out-peers) arrays; GraphError if malformed.

    The checks run on whole arrays, so a phase of a million messages takes a fraction of a second.
    """
    if len(phase) != n:
        raise GraphError(f"phases[{t}] lists {len(phase)} nodes; expected n={n}")
    try:
        degrees = np.fromiter(map(len, phase), dtype=np.int64, count=n)
        peers = list(chain.from_iterable(phase))
        kinds = set(map(type, peers))
        integral = all(issubclass(kind, (int, np.integer)) and not issubclass(kind, bool) for kind in kinds)
        targets = np.array(peers, dtype=np.int64) if integral else None
    except (TypeError, OverflowError):
        targets = None
    if targets is None or (targets.size and not (targets.min() >= 0 and targets.max() < n)):
        raise _bad_peers(n, t, phase)
    if kinds <= {int}:
        return tuple(map(tuple, phase)), (degrees, targets)
    return tuple(map(tuple, _split(targets.tolist(), degrees))), (degrees, targets)


def _bad_peers(n: int, t: int, phase: Sequence[Sequence[int]]) -> GraphError:
    """The error naming the first node of phase ``t`` whose out-peers are not node numbers ``0 .. n - 1``."""
    for i, peers in enumerate(phase):
        if not isinstance(peers, Collection):
            return GraphError(f"phases[{t}][{i}]={shown(peers)}; expected a sequence of node numbers 0..{n - 1}")
        bad = [p for p in peers if not (_is_index(p) and 0 <= p < n)]
        if bad:
            return GraphError(f"phases[{t}][{i}] has peers {shown(bad)}; allowed are 0..{n - 1} (integers)")
    raise AssertionError("unreachable: the phase was found malformed")  # pragma: no cover


def _split(flat: list[int], counts: np.ndarray) -> list[list[int]]:
    """``flat`` cut into consecutive lists of ``counts[0]``, ``counts[1]``, ... items."""
    bounds = [0, *np.cumsum(counts).tolist()]
    return [flat[a:b] for a, b in pairwise(bounds)]


def _shortest_cycle(phases: tuple[_Phase, ...]) -> tuple[_Phase, ...]:
    """The shortest prefix of ``phases`` whose repetition gives ``phases``."""
    length = len(phases)
    period = next(d for d in range(1, length + 1) if length % d == 0 and phases[:d] * (length // d) == phases)
    return phases[:period]


def _invert(n: int, degrees: np.ndarray, targets: np.ndarray) -> list[list[int]]:
    """In-peer lists (sorted, with multiplicity) of one phase's out-degrees and out-peers."""
    sources = np.repeat(np.arange(n), degrees)  # nondecreasing, so a stable sort by target keeps them sorted
    return _split(sources[np.argsort(targets, kind="stable")].tolist(), np.bincount(targets, minlength=n))


# ---------------------------------------------------------------------------
# Phone books of the official code, one function per graph class. Each gives
# the phone book of rank 0, i.e. the offsets d (mod n) of every rank r's book
# r + d mod n: the official loops build every rank's book from the same offsets.


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


def _directed_exponential_book(n: int, k: int) -> list[int]:
    """``DynamicDirectedExponentialGraph``: offsets +- 2**i for i = 0 .. floor(log2(n - 1))."""
    del k
    # (n - 1).bit_length() == floor(log2(n - 1)) + 1 exactly; the official float
    # int(log(n - 1, 2)) agrees for every n below 2**48 + 1 but not beyond.
    return [d % n for i in range((n - 1).bit_length()) for d in (2**i, -(2**i))]


def _npeer_exponential_book(n: int, k: int) -> list[int]:
    """``NPeerDynamicDirectedExponentialGraph``: offsets j (k + 1)**i, j = 1 .. k."""
    return [(j * (k + 1) ** i) % n for i in range(_powers_up_to(k + 1, n - 1)) for j in range(1, k + 1)]


def _is_passive(rank: int) -> bool:
    """The bipartite graphs' rule: even ranks are passive."""
    return rank % 2 == 0


def _bipartite_book(n: int, distances: Sequence[int]) -> list[int]:
    """Offsets +- d, kept (as the official code does) only when both peers lie across the bipartition.

    With ``n`` even (which :func:`make` requires), ``rank +- d mod n`` has the
    other parity than ``rank`` exactly when ``d`` is odd, at every rank.
    """
    return [offset % n for d in distances if d % 2 for offset in (d, -d)]


def _bipartite_exponential_book(n: int, k: int) -> list[int]:
    """``DynamicBipartiteExponentialGraph``: distances 1, then 1 + 2**i for i >= 1."""
    del k
    distances = [1] + [1 + 2**i for i in range(1, (n - 1).bit_length())]
    return _bipartite_book(n, distances)


def _directed_linear_book(n: int, k: int) -> list[int]:
    """``DynamicDirectedLinearGraph``: offsets +- i for odd i = 1 .. n - 1."""
    del k
    return [d % n for i in range(1, n, 2) for d in (i, -i)]


def _bipartite_linear_book(n: int, k: int) -> list[int]:
    """``DynamicBipartiteLinearGraph``: offsets +- i for i = 1 .. n - 1, across the bipartition."""
    del k
    return _bipartite_book(n, range(1, n))


def _ring_book(n: int, k: int) -> list[int]:
    """``RingGraph``: offsets +1, -1."""
    del k
    return [1 % n, -1 % n]


_Book = Callable[[int, int], list[int]]

# name -> (phone-book offsets, is_dynamic_graph() of the official class)
_BOOKS: dict[str, tuple[_Book, bool]] = {
    "dynamic-directed-exponential": (_directed_exponential_book, True),
    "npeer-dynamic-directed-exponential": (_npeer_exponential_book, True),
    "dynamic-bipartite-exponential": (_bipartite_exponential_book, True),
    "dynamic-directed-linear": (_directed_linear_book, True),
    "dynamic-bipartite-linear": (_bipartite_linear_book, True),
    "ring": (_ring_book, False),
}


def _rotating_phases(book: list[int], n: int, k: int, cycle: int) -> tuple[_Phase, ...]:
    """Out-peers per iteration ``t < cycle``: rank + entries ``t k .. t k + k - 1`` of the offsets (mod their length).

    A static graph has ``cycle = 1`` (the entries of iteration 0); a dynamic
    one repeats after ``L / gcd(L, k)`` iterations for phone-book length ``L``.
    """
    offsets, ranks, entries = np.asarray(book, dtype=np.int64), np.arange(n, dtype=np.int64), np.arange(k)
    return tuple(_rows(ranks + offsets[(t * k + entries) % len(book)][:, None], n) for t in range(cycle))


def _rows(peers: np.ndarray, n: int) -> _Phase:
    """Row ``i`` of the ``(k, n)`` array ``peers mod n`` is entry ``i`` of every node: one tuple per node."""
    return tuple(zip(*(peers % n).tolist()))


def _check_entries(name: str, n: int, k: int, cycle: int) -> None:
    """GraphError if ``n`` nodes with ``k`` out-peers over ``cycle`` iterations exceed :data:`MAX_SCHEDULE_ENTRIES`."""
    entries = n * k * cycle
    if entries > MAX_SCHEDULE_ENTRIES:
        raise GraphError(
            f"graph {name!r} with n={n} and peers_per_itr={k} lists {entries} out-peers over "
            f"{'its period of ' * (cycle > 1)}{_iterations(cycle)}; at most {MAX_SCHEDULE_ENTRIES} "
            "are supported: use fewer nodes or peers_per_itr"
        )


def _complete(n: int) -> GraphSchedule:
    """Every node pushes to all others every iteration, in increasing order."""
    _check_entries("complete", n, n - 1, 1)
    others, nodes = np.arange(n - 1)[:, None], np.arange(n)
    return GraphSchedule("complete", n, n - 1, (_rows(others + (others >= nodes), n),))  # j: 0..j-1, j+1..n-1


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
        For an unknown name, ``n < 2``, an odd ``n`` for a bipartite graph,
        ``peers_per_itr`` outside ``1 .. len(phone book)``, or a schedule of
        more than :data:`MAX_SCHEDULE_ENTRIES` out-peers over one period
        (refused before anything is built).

    Notes
    -----
    Time and memory grow with the number of out-peer entries over one period,
    ``n * peers_per_itr * period``, and nothing else: 50 000 nodes of
    ``dynamic-directed-exponential`` (period 32) take a few seconds.

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
        raise GraphError(f"graph name={shown(name)} is unknown; allowed are {', '.join(GRAPHS)}")
    if not _is_index(n) or n < 2:
        raise GraphError(f"n={shown(n)}; graph {name!r} needs an integer n >= 2 nodes")
    if name == "complete":
        return _complete(n)
    if "bipartite" in name and n % 2:
        raise GraphError(f"n={n} is odd; graph {name!r} needs an even n (even ranks passive, odd ranks active)")
    if not _is_index(peers_per_itr) or peers_per_itr < 1:
        raise GraphError(
            f"peers_per_itr={shown(peers_per_itr)} is out of range for {name!r}; "
            "allowed are 1 up to its phone-book length"
        )
    _check_entries(name, n, peers_per_itr, 1)  # before the phone book, which can hold peers_per_itr entries
    build, dynamic = _BOOKS[name]
    book = build(n, peers_per_itr)
    length = len(book)
    if peers_per_itr > length:
        raise GraphError(
            f"peers_per_itr={peers_per_itr} is out of range for {name!r} with n={n}; "
            f"allowed are 1..{length} (its phone-book length)"
        )
    cycle = length // gcd(length, peers_per_itr) if dynamic else 1
    _check_entries(name, n, peers_per_itr, cycle)
    passive = frozenset(filter(_is_passive, range(n))) if "bipartite" in name else frozenset()
    return GraphSchedule(name, n, peers_per_itr, _rotating_phases(book, n, peers_per_itr, cycle), passive)


def from_digraph(g: nx.DiGraph | Sequence[nx.DiGraph], *, name: str = "digraph") -> GraphSchedule:
    """A schedule from networkx graphs: each node pushes along all its out-edges every iteration.

    One graph is a static schedule; a sequence of graphs is cycled, graph
    ``t % len(g)`` at iteration ``t``.

    Parameters
    ----------
    g : networkx.DiGraph or networkx.MultiDiGraph, or a sequence of them
        Nodes must be exactly the integers ``0 .. n - 1`` with ``n >= 2``
        (Python or numpy ints; floats such as ``0.0`` and bools are refused).
        Out-peers are listed in increasing order. Parallel edges of a
        MultiDiGraph are kept: ``m`` edges ``i -> j`` make ``i`` send to ``j``
        ``m`` times per iteration, and ``j`` gets ``m`` shares of ``i``'s mass
        in the mixing matrix, as the node processes send them. Self loops
        (any number of them) are ignored: a node keeps its own share without
        sending it to itself.
    name : str, optional
        Name of the schedule.

    Returns
    -------
    GraphSchedule
        Period 1 for one graph (at most ``len(g)`` for a sequence);
        ``peers_per_itr`` is the largest out-degree, parallel edges counted,
        self loops not.

    Raises
    ------
    GraphError
        If a graph is undirected, its nodes are not the integers ``0 .. n - 1``,
        the sequence is empty or its graphs differ in their number of nodes.

    Examples
    --------
    >>> import networkx as nx
    >>> s = from_digraph(nx.DiGraph([(0, 1), (0, 2), (1, 0), (2, 2)]))
    >>> s.out_peers(0), s.peers_per_itr
    ([[1, 2], [0], []], 2)
    >>> m = from_digraph(nx.MultiDiGraph([(0, 1), (0, 1), (1, 0)]))
    >>> m.out_peers(0), m.mixing_matrix(0)[:, 0].tolist()
    ([[1, 1], [0]], [0.3333333333333333, 0.6666666666666666])
    >>> cycled = from_digraph([nx.DiGraph([(0, 1), (1, 2), (2, 0)]), nx.DiGraph([(0, 2), (2, 1), (1, 0)])])
    >>> cycled.period, cycled.out_peers(1), cycled.out_peers(2)
    (2, [[2], [0], [1]], [[1], [2], [0]])
    """
    graphs = [g] if isinstance(g, nx.DiGraph) or not isinstance(g, Sequence) else list(g)
    if not graphs:
        raise GraphError("g is an empty sequence; expected a networkx DiGraph or a non-empty list of them")
    phases = tuple(_digraph_phase(graph, f"g[{k}]" if len(graphs) > 1 else "g") for k, graph in enumerate(graphs))
    sizes = sorted({len(phase) for phase in phases})
    if len(sizes) > 1:
        raise GraphError(f"the graphs of g have {sizes} nodes; expected one number of nodes for all")
    peers = max((len(out) for phase in phases for out in phase), default=0)
    return GraphSchedule(name, sizes[0], peers, phases)


def _digraph_phase(g: Any, label: str) -> _Phase:
    """Every node's out-peers in the networkx graph ``g`` (called ``label`` in errors)."""
    if not isinstance(g, nx.Graph):
        raise GraphError(f"{label}={shown(g)}; expected a networkx DiGraph or MultiDiGraph")
    if not g.is_directed():
        raise GraphError(f"{label} is an undirected {type(g).__name__}; expected a networkx DiGraph or MultiDiGraph")
    n = g.number_of_nodes()
    bad = sorted(shown(v) for v in g.nodes if not (_is_index(v) and 0 <= v < n))
    if bad:  # n distinct integers in 0 .. n - 1 are exactly 0 .. n - 1
        listed = ", ".join(bad[:_SHOWN_WHEN_LARGE]) + (", ..." if len(bad) > _SHOWN_WHEN_LARGE else "")
        raise GraphError(f"{label} has nodes {listed}; the nodes must be exactly 0..{n - 1} (integers, not floats or bools)")
    return tuple(tuple(sorted(int(j) for _, j in g.out_edges(i) if j != i)) for i in range(n))


# ---------------------------------------------------------------------------
# Checks on matrices, dense (numpy) or sparse (scipy.sparse).

_Matrix: TypeAlias = np.ndarray | scipy.sparse.sparray | scipy.sparse.spmatrix


def _square(P: _Matrix) -> np.ndarray | scipy.sparse.csc_array:
    """``P`` as a float array (a CSC array, duplicates summed, if sparse), or GraphError unless square."""
    if scipy.sparse.issparse(P):
        P = scipy.sparse.csc_array(P, dtype=float)
        P.sum_duplicates()
    else:
        P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise GraphError(f"P has shape {P.shape}; expected a square (n, n) matrix")
    return P


def _sums(P: np.ndarray | scipy.sparse.csc_array, kind: str) -> np.ndarray:
    """Column (``kind="column"``) or row sums of a matrix from :func:`_square`."""
    return np.asarray(P.sum(axis=0 if kind == "column" else 1)).ravel()


def _first_bad(sums: np.ndarray, atol: float) -> int | None:
    """Index of the first sum farther than ``atol`` from 1, or None."""
    bad = np.flatnonzero(~(np.abs(sums - 1.0) <= atol))  # NaN counts as bad
    return int(bad[0]) if bad.size else None


def _first_negative(P: np.ndarray | scipy.sparse.csc_array, atol: float) -> tuple[int, int, float] | None:
    """Row, column and value of the first entry (row-major) of a matrix from :func:`_square` below ``-atol`` or NaN."""
    if isinstance(P, np.ndarray):
        bad = np.argwhere(~(P >= -atol))
        return (int(bad[0][0]), int(bad[0][1]), float(P[tuple(bad[0])])) if bad.size else None
    bad_data = np.flatnonzero(~(P.data >= -atol))
    if not bad_data.size:
        return None
    entries = P.tocoo()  # same order of entries as P.data
    first = bad_data[np.lexsort((entries.col[bad_data], entries.row[bad_data]))[0]]
    return int(entries.row[first]), int(entries.col[first]), float(P.data[first])


def is_column_stochastic(P: _Matrix, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` (dense or scipy sparse) is nonnegative and every column sums to 1 within ``atol``.

    Examples
    --------
    >>> import numpy as np
    >>> is_column_stochastic(np.array([[0.5, 1.0], [0.5, 0.0]]))
    True
    >>> is_column_stochastic(np.array([[0.5, 1.0], [0.4, 0.0]]))
    False
    """
    P = _square(P)
    return _first_negative(P, atol) is None and _first_bad(_sums(P, "column"), atol) is None


def is_row_stochastic(P: _Matrix, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` (dense or scipy sparse) is nonnegative and every row sums to 1 within ``atol``.

    Examples
    --------
    >>> import numpy as np
    >>> is_row_stochastic(np.array([[0.5, 0.5], [1.0, 0.0]]))
    True
    """
    return is_column_stochastic(_square(P).T, atol=atol)


def is_doubly_stochastic(P: _Matrix, *, atol: float = 1e-12) -> bool:
    """Whether ``P`` (dense or scipy sparse) is both row- and column-stochastic within ``atol``.

    Examples
    --------
    >>> is_doubly_stochastic(make("ring", 5).mixing_matrix(0))
    True
    >>> is_doubly_stochastic(make("ring", 5).sparse_mixing_matrix(0))
    True
    """
    return is_column_stochastic(P, atol=atol) and is_row_stochastic(P, atol=atol)


def check_column_stochastic(P: _Matrix, *, atol: float = 1e-12) -> None:
    """Raise GraphError naming the first negative entry or column not summing to 1.

    ``P`` may be dense or scipy sparse (e.g. :meth:`GraphSchedule.sparse_mixing_matrix`,
    which a run checks); the messages are the same.

    Examples
    --------
    >>> import numpy as np
    >>> check_column_stochastic(np.array([[0.5, 1.0], [0.4, 0.0]]))
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: column 0 of the mixing matrix sums to 0.9; expected 1 (atol=1e-12)
    """
    P = _square(P)
    _check_nonnegative(P, atol)
    _check_sums(P, "column", atol)


def check_doubly_stochastic(P: _Matrix, *, atol: float = 1e-12) -> None:
    """Raise GraphError naming the first negative entry or column or row not summing to 1.

    ``P`` may be dense or scipy sparse.

    Examples
    --------
    >>> import numpy as np
    >>> check_doubly_stochastic(np.array([[0.5, 1.0], [0.5, 0.0]]))
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: row 0 of the mixing matrix sums to 1.5; expected 1 (atol=1e-12)
    """
    P = _square(P)
    _check_nonnegative(P, atol)
    _check_sums(P, "column", atol)
    _check_sums(P, "row", atol)


def _check_nonnegative(P: np.ndarray | scipy.sparse.csc_array, atol: float) -> None:
    """GraphError naming the first entry of ``P`` below ``-atol`` (or NaN)."""
    bad = _first_negative(P, atol)
    if bad is not None:
        i, j, value = bad
        raise GraphError(f"mixing matrix entry [{i}, {j}] is {value:.6g}; expected >= 0")


def _check_sums(P: np.ndarray | scipy.sparse.csc_array, kind: str, atol: float) -> None:
    """GraphError naming the first column (``kind="column"``) or row of ``P`` not summing to 1."""
    sums = _sums(P, kind)
    bad = _first_bad(sums, atol)
    if bad is not None:
        raise GraphError(f"{kind} {bad} of the mixing matrix sums to {sums[bad]:.15g}; expected 1 (atol={atol:g})")


# ---------------------------------------------------------------------------
# Checks on schedules.


def _union_components(schedule: GraphSchedule) -> np.ndarray:
    """Each node's strongly connected component (a label) in the union of the edges ``j -> i`` over one period."""
    n = schedule.n
    sources = np.concatenate([np.repeat(np.arange(n), degrees) for degrees, _ in schedule._edges])
    targets = np.concatenate([targets for _, targets in schedule._edges])
    union = scipy.sparse.csr_array((np.ones(len(targets)), (sources, targets)), shape=(n, n))
    return connected_components(union, directed=True, connection="strong")[1]


def union_is_strongly_connected(schedule: GraphSchedule) -> bool:
    """Whether the union of the edges over one period is strongly connected.

    Push-sum averages over all nodes only if it is. Runs on the edge list, in
    memory proportional to the number of messages.

    Examples
    --------
    >>> import networkx as nx
    >>> union_is_strongly_connected(make("dynamic-directed-exponential", 16))
    True
    >>> union_is_strongly_connected(from_digraph(nx.DiGraph([(0, 1), (1, 0), (2, 3), (3, 2)])))
    False
    """
    return bool((_union_components(schedule) == 0).all())


def check_strongly_connected(schedule: GraphSchedule) -> None:
    """Raise GraphError unless the union over one period is strongly connected.

    The message gives the number of components and (cut short) the one of node 0.

    Examples
    --------
    >>> import networkx as nx
    >>> check_strongly_connected(from_digraph(nx.DiGraph([(0, 1), (1, 2)])))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.GraphError: graph 'digraph' with n=3 is not strongly connected over one period ...
    """
    labels = _union_components(schedule)
    count = int(labels.max()) + 1
    if count > 1:
        first = np.flatnonzero(labels == labels[0]).tolist()
        raise GraphError(
            f"graph {schedule.name!r} with n={schedule.n} is not strongly connected over one period "
            f"({_iterations(schedule.period)}): {count} strongly connected components, e.g. {shown(first)}"
        )


def _iterations(count: int) -> str:
    """``"1 iteration"``, ``"6 iterations"``."""
    return f"{count} iteration{'s' * (count != 1)}"


DENSE_GAP_NODES = 1024
"""Most nodes for which :func:`spectral_gap` of a schedule that is not circulant is computed (dense eigenvalues)."""


def _circulant_eigenvalues(schedule: GraphSchedule) -> np.ndarray | None:
    """Eigenvalues of the period product if every phase is circulant, else None.

    A phase is circulant when every node's out-peers are ``node + d mod n``
    for the same offsets ``d``; its matrix is then diagonalised by the
    discrete Fourier transform, the eigenvalues being the FFT of its first
    column, and the product's eigenvalues are the products of the phases'.
    """
    n = schedule.n
    eigenvalues = np.ones(n, dtype=complex)
    for degrees, targets in schedule._edges:
        k = int(degrees[0])
        if (degrees != k).any():
            return None
        offsets = np.sort((targets.reshape(n, k) - np.arange(n)[:, None]) % n, axis=1)
        if (offsets != offsets[0]).any():
            return None
        first_column = np.bincount(offsets[0], minlength=n) / (k + 1.0)
        first_column[0] += 1.0 / (k + 1.0)  # the node's own share
        eigenvalues *= np.fft.fft(first_column)
    return eigenvalues


def spectral_gap(schedule: GraphSchedule) -> float:
    """``1 - |lambda_2|`` of the product of the mixing matrices over one period.

    The product is ``P(period - 1) @ ... @ P(0)``, the map of one period of
    gossip; ``|lambda_2|`` is its second largest eigenvalue modulus (the largest
    is 1 for column-stochastic matrices). The consensus error of push-sum shrinks
    roughly by the factor ``|lambda_2|`` per period: a gap of 1 means exact
    averaging within one period, a gap of 0 no guaranteed mixing. Rounding is
    clipped into ``[0, 1]``.

    The gap is exactly 0 when the union over one period is not strongly
    connected: push-sum then does not reach the average of all nodes, whatever
    the eigenvalues. For circulant schedules (every built-in one) the
    eigenvalues are the products of the discrete Fourier transforms of the
    matrices' first columns: exact, in ``O(period n log n)`` time, for any
    ``n``. Other schedules are multiplied out densely and solved with
    :func:`numpy.linalg.eigvals`, up to :data:`DENSE_GAP_NODES` nodes.

    Raises
    ------
    GraphError
        For a schedule that is not circulant with more than
        :data:`DENSE_GAP_NODES` nodes.

    Examples
    --------
    >>> round(spectral_gap(make("complete", 8)), 12)
    1.0
    >>> import math
    >>> math.isclose(spectral_gap(make("ring", 8)), 1 - math.cos(math.pi / 8))
    True
    """
    if not union_is_strongly_connected(schedule):
        return 0.0
    eigenvalues = _circulant_eigenvalues(schedule)
    if eigenvalues is not None:
        second = float(np.abs(eigenvalues[1:]).max())  # eigenvalues[0] belongs to the all-ones vector: 1
    elif schedule.n <= DENSE_GAP_NODES:
        product = np.eye(schedule.n)
        for t in range(schedule.period):
            product = schedule.sparse_mixing_matrix(t) @ product
        second = float(np.sort(np.abs(np.linalg.eigvals(product)))[-2])
    else:
        raise GraphError(
            f"graph {schedule.name!r} with n={schedule.n}: the spectral gap of a schedule that is not circulant "
            f"is computed only up to {DENSE_GAP_NODES} nodes"
        )
    return float(np.clip(1.0 - second, 0.0, 1.0))


# ---------------------------------------------------------------------------
# Text report.

_SHOW_ALL_UP_TO = 32
_SHOWN_WHEN_LARGE = 8


def _peer_table(schedule: GraphSchedule, iterations: int) -> list[str]:
    """Lines of a table: one row per node, one column of out-peers per iteration."""
    nodes = schedule.n if schedule.n <= _SHOW_ALL_UP_TO else _SHOWN_WHEN_LARGE
    phases = [schedule.phases[t % schedule.period] for t in range(iterations)]  # the tuples: no peer lists built
    cells = [[",".join(map(str, phase[i])) or "-" for phase in phases] for i in range(nodes)]
    heads = [f"t={t}" for t in range(iterations)]
    widths = [max(len(heads[t]), *(len(row[t]) for row in cells)) for t in range(iterations)]
    node_width = max(len("node"), len(str(nodes - 1)))

    def line(first: str, row: list[str]) -> str:
        return "  ".join([first.rjust(node_width), *(c.ljust(w) for c, w in zip(row, widths))]).rstrip()

    lines = [line("node", heads), *(line(str(i), row) for i, row in enumerate(cells))]
    if nodes < schedule.n:
        lines.append(f"(first {nodes} of {schedule.n} nodes shown)")
    return lines


def _node_list(nodes: list[int]) -> str:
    """``"0, 2, 4"``; beyond 32 nodes the first 8 and how many there are."""
    if len(nodes) <= _SHOW_ALL_UP_TO:
        return ", ".join(map(str, nodes))
    return f"{', '.join(map(str, nodes[:_SHOWN_WHEN_LARGE]))}, ... ({len(nodes)} nodes)"


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
        The checks run on sparse matrices; the spectral gap line reads
        ``not computed above 1024 nodes ...`` for a large schedule that is not
        circulant (see :func:`spectral_gap`).

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
    shown_iterations = schedule.period if iterations is None else iterations
    matrices = [schedule.sparse_mixing_matrix(t) for t in range(schedule.period)]
    try:
        gap = f"{spectral_gap(schedule):.6g}"
    except GraphError:
        gap = f"not computed above {DENSE_GAP_NODES} nodes for a schedule that is not circulant"
    lines = [
        f"graph: {schedule.name}",
        f"nodes: {schedule.n}  peers_per_itr: {schedule.peers_per_itr}  period: {_iterations(schedule.period)}",
    ]
    if schedule.passive:
        lines.append(f"passive nodes (receive before sending): {_node_list(sorted(schedule.passive))}")
    lines += ["out-peers (row: node, column: iteration)", *_peer_table(schedule, shown_iterations)]
    lines += [
        f"column-stochastic: {_verdict([is_column_stochastic(P) for P in matrices])}",
        f"doubly-stochastic: {_verdict([is_doubly_stochastic(P) for P in matrices])}",
        f"union over one period strongly connected: {'yes' if union_is_strongly_connected(schedule) else 'no'}",
        f"spectral gap (1 - |lambda_2| of the period product): {gap}",
    ]
    return "\n".join(lines)
