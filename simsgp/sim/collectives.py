"""Allreduce collectives as message schedules, their node processes and closed forms: an open family.

A :class:`Collective` says, for every node, what it does in each round of
one allreduce (:class:`Step`): post its sends (each filed under the round in
which its receiver takes it), wait for the round's messages, add what it
received (``b / reduce_rate`` seconds for ``b`` bytes, ``network.reduce_rate``;
adds are free without one). One schedule serves both modes:
:func:`allreduce` runs it as a node process over the flow network (so
contention with other traffic is modelled) and
:func:`simsgp.sim.analytic.schedule_times` times it without events. The
closed forms (``*_time``) give each member's time on an idle full-duplex star
with ``alpha`` the latency, ``B`` the NIC bandwidth, ``M`` the message and
``R`` the reduce rate; the tests hold both modes to them.

Members: ``ring`` (Patarasuk and Yuan 2009); ``parallel`` (every node sends
its gradient to every other); ``recursive-doubling`` (Thakur, Rabenseifner and
Gropp 2005, with MPICH's fold when ``p`` is not a power of two: the allreduce
of PyTorch 0.5's TCP backend, which produced the table of Assran et al., ICML
2019); ``halving-doubling`` (Rabenseifner 2004: recursive-halving
reduce-scatter, recursive-doubling all-gather, the same fold); ``tree`` (a
binary tree reducing and then broadcasting in pipelined chunks of
``algorithm.chunk_bytes``, as NCCL's tree does); ``hierarchical`` (reduce onto
one leader per server over the server's own links, the leaders'
``algorithm.leader_collective``, broadcast back). :func:`register_collective`
adds a user's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from simsgp.errors import ScenarioError
from simsgp.sim.mailbox import Mailbox, post

__all__ = [
    "COLLECTIVES",
    "Collective",
    "CollectiveOptions",
    "Step",
    "allreduce",
    "bucket_sizes",
    "halving_doubling_time",
    "hierarchical_time",
    "messages_per_node",
    "node_steps",
    "parallel_allreduce_time",
    "recursive_doubling_time",
    "reduce_seconds",
    "register_collective",
    "ring_allreduce_time",
    "run_steps",
    "tree_chunks",
    "tree_time",
]

DEFAULT_CHUNK_BYTES = float(4 * 2**20)
"""Bytes per pipelined chunk of the tree collective by default (4 MiB)."""


@dataclass(frozen=True)
class CollectiveOptions:
    """What a collective's schedule may depend on beside ``p`` and the message size.

    ``reduce_rate``: bytes per second of a node's local add (None: free);
    ``chunk_bytes``: the tree's pipeline chunk; ``leader``: the collective the
    server leaders run in ``hierarchical``; ``groups``: each worker's server
    (empty: every worker on its own).
    """

    reduce_rate: float | None = None
    chunk_bytes: float = DEFAULT_CHUNK_BYTES
    leader: str = "ring"
    groups: tuple[int, ...] = ()


class Step(NamedTuple):
    """What one node does in one round.

    ``sends``: ``(dst, nbytes, receive_round)`` of every message it posts
    (``receive_round`` >= ``round``: the round in which ``dst`` takes it);
    ``receives``: how many messages it then waits for; ``add``: bytes it adds
    after they have come.
    """

    round: int
    sends: tuple[tuple[int, float, int], ...] = ()
    receives: int = 0
    add: float = 0.0


Steps = Callable[[int, int, float, CollectiveOptions], Iterator[Step]]
"""``steps(node, p, nbytes, options)``: a node's steps in increasing round order (idle rounds left out)."""


@dataclass(frozen=True)
class Collective:
    """One allreduce algorithm.

    Parameters
    ----------
    name : str
        What ``algorithm.collective`` calls it.
    steps : callable
        ``steps(node, p, nbytes, options)``: node ``node``'s :class:`Step` s.
    messages : callable
        ``messages(p, nbytes, options)``: the most messages one node sends in
        one allreduce (for the run's size checks, without building the schedule).
    """

    name: str
    steps: Steps
    messages: Callable[[int, float, CollectiveOptions], int]


COLLECTIVES: dict[str, Collective] = {}
"""The collectives by name; :func:`register_collective` adds one."""


def register_collective(collective: Collective) -> Collective:
    """Add ``collective`` to :data:`COLLECTIVES` (a user's own, from their code) and return it.

    Raises
    ------
    ScenarioError
        A collective of that name exists.
    """
    if collective.name in COLLECTIVES:
        raise ScenarioError(f"collective {collective.name!r} is registered already; choose another name")
    COLLECTIVES[collective.name] = collective
    return collective


def reduce_seconds(nbytes: float, reduce_rate: float | None) -> float:
    """Seconds to add a received message of ``nbytes`` into one's own (0 without a reduce rate).

    Examples
    --------
    >>> reduce_seconds(1e9, 2e9), reduce_seconds(1e9, None)
    (0.5, 0.0)
    """
    return nbytes / reduce_rate if reduce_rate else 0.0


@lru_cache(maxsize=4096)
def node_steps(kind: str, node: int, p: int, nbytes: float, options: CollectiveOptions) -> tuple[Step, ...]:
    """Node ``node``'s steps in the collective named ``kind`` (cached: every iteration repeats them)."""
    return tuple(COLLECTIVES[kind].steps(node, p, nbytes, options))


def allreduce(
    kind: str, network, mailboxes: list[Mailbox], node: int, p: int, nbytes: float, tag: Hashable,
    options: CollectiveOptions = CollectiveOptions(),
) -> Generator[Any, Any, None]:
    """Node ``node``'s part of the collective named ``kind`` (one of :data:`COLLECTIVES`), used with ``yield from``.

    Messages of round ``k`` are filed under ``(tag, k)``. With an eager
    limit on the network (:func:`simsgp.sim.mailbox.post`) the node also
    waits, at the end, for its own sends to complete, as a blocking MPI
    collective does; streamed sends are not waited for.
    """
    return run_steps(network, mailboxes, node, node_steps(kind, node, p, nbytes, options), tag, options.reduce_rate)


def run_steps(
    network, mailboxes: list[Mailbox], node: int, steps: Sequence[Step], tag: Hashable, reduce_rate: float | None,
) -> Generator[Any, Any, None]:
    """Run ``steps`` (one node's, from :func:`node_steps`) as :func:`allreduce` does; callers that repeat one
    collective take the steps once and call this every time."""
    env, box = network.env, mailboxes[node]
    complete = network.eager_limit is not None
    pending = []
    for round_, sends, receives, add in steps:
        for dst, size, receive_round in sends:
            sent = post(network, mailboxes, node, dst, (tag, receive_round), None, size)
            if complete:
                pending.append(sent)
        if receives:
            yield box.get((tag, round_), receives)
        if add and reduce_rate:
            yield env.timeout(add / reduce_rate)
    if pending:
        yield env.all_of(pending)


def messages_per_node(kind: str, p: int, nbytes: float = 1.0, options: CollectiveOptions = CollectiveOptions()) -> int:
    """The most messages one of ``p`` nodes sends in one allreduce of the collective named ``kind``.

    Examples
    --------
    >>> messages_per_node("ring", 8), messages_per_node("parallel", 8), messages_per_node("recursive-doubling", 8)
    (14, 7, 3)
    """
    return COLLECTIVES[kind].messages(p, nbytes, options)


# ---- ring and parallel ---------------------------------------------------------------------------------------------


def _ring_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    """Reduce-scatter then all-gather: in each of ``2 (p - 1)`` rounds send ``M / p`` on, take one from behind."""
    successor, chunk = (node + 1) % p, nbytes / p
    for k in range(2 * (p - 1)):
        yield Step(k, ((successor, chunk, k),), 1, chunk if k < p - 1 else 0.0)


def ring_allreduce_time(p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None = None) -> float:
    """Closed-form ring allreduce time: ``2 (p-1) alpha + 2 (p-1) / p * M / B + (p-1) / p * M / R``.

    Examples
    --------
    >>> round(ring_allreduce_time(32, 102.2e6, 1.25e9, 0.0), 4)
    0.1584
    """
    return 2 * (p - 1) * latency + 2 * (p - 1) / p * nbytes / bandwidth + (p - 1) * reduce_seconds(nbytes / p, reduce_rate)


def _parallel_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    """One round: send the whole message to every other node, take theirs, add them."""
    if p > 1:
        yield Step(0, tuple((peer, nbytes, 0) for peer in range(p) if peer != node), p - 1, (p - 1) * nbytes)


def parallel_allreduce_time(
    p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None = None
) -> float:
    """Closed-form parallel allreduce time: ``alpha + (p - 1) M / B + (p - 1) M / R``.

    Examples
    --------
    >>> parallel_allreduce_time(4, 1.25e9, 1.25e9, 0.5)
    3.5
    """
    return latency + (p - 1) * nbytes / bandwidth + reduce_seconds((p - 1) * nbytes, reduce_rate)


# ---- recursive doubling and halving-doubling (power-of-two exchanges, MPICH's fold) ----------------------------------


def _power_of_two_below(p: int) -> int:
    """The largest power of two ``<= p``."""
    return 1 << (p.bit_length() - 1)


Exchange = Callable[[int, int, float], list[tuple[int, float, float]]]
"""``exchange(virtual, q, nbytes)``: ``(partner, send, add)`` of each round among ``q`` (a power of two) virtual ranks."""


def _folded(node: int, p: int, nbytes: float, exchange: Exchange) -> Iterator[Step]:
    """Steps of a power-of-two exchange among ``q`` of the ``p`` nodes, with MPICH's fold for the other ``r = p - q``.

    The first ``2 r`` ranks pair up: the even one sends its whole message to
    the odd one, which adds it, takes part as virtual rank ``node // 2`` and
    sends the result back at the end; rank ``node >= 2 r`` is virtual rank
    ``node - r``. Round 0 is the fold, rounds ``1..`` the exchange.
    """
    q = _power_of_two_below(p)
    r = p - q
    last = len(exchange(0, q, nbytes)) + 1
    if node < 2 * r and node % 2 == 0:  # folded out: hand the message over, wait for the sum
        yield Step(0, ((node + 1, nbytes, 0),))
        yield Step(last, (), 1)
        return
    if node < 2 * r:
        yield Step(0, (), 1, nbytes)
    virtual = node // 2 if node < 2 * r else node - r
    for k, (partner, size, add) in enumerate(exchange(virtual, q, nbytes), start=1):
        peer = 2 * partner + 1 if partner < r else partner + r
        yield Step(k, ((peer, size, k),), 1, add)
    if node < 2 * r:
        yield Step(last, ((node - 1, nbytes, last),))


def _doubling(virtual: int, q: int, nbytes: float) -> list[tuple[int, float, float]]:
    """Recursive doubling: in round ``k`` exchange the whole message with virtual rank XOR ``2^k`` and add it."""
    return [(virtual ^ (1 << k), nbytes, nbytes) for k in range(q.bit_length() - 1)]


def _halving_doubling(virtual: int, q: int, nbytes: float) -> list[tuple[int, float, float]]:
    """Recursive halving at distance ``q/2, q/4, ..`` (send half of what is left, add the other half), then doubling back."""
    rounds = q.bit_length() - 1
    scatter = [(virtual ^ (q >> (k + 1)), nbytes / 2 ** (k + 1), nbytes / 2 ** (k + 1)) for k in range(rounds)]
    gather = [(virtual ^ (1 << k), nbytes * 2**k / q, 0.0) for k in range(rounds)]
    return scatter + gather


def _recursive_doubling_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    return _folded(node, p, nbytes, _doubling)


def _halving_doubling_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    return _folded(node, p, nbytes, _halving_doubling)


def _folded_messages(exchange: Exchange) -> Callable[[int, float, CollectiveOptions], int]:
    """Messages of the busiest node: a rank that takes a folded message sends the sum back too."""

    def messages(p: int, nbytes: float, options: CollectiveOptions) -> int:
        q = _power_of_two_below(p)
        return len(exchange(0, q, nbytes)) + (1 if p > q else 0)

    return messages


def recursive_doubling_time(
    p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None = None
) -> float:
    """Closed-form recursive-doubling time: ``log2(q) (alpha + M/B + M/R)``, plus the fold when ``p > q``.

    ``q`` is the largest power of two ``<= p``; folding costs one message in
    and its add before the rounds, and one message out after them.

    Examples
    --------
    >>> recursive_doubling_time(32, 1.25e9, 1.25e9, 0.0)
    5.0
    >>> recursive_doubling_time(6, 1.25e9, 1.25e9, 0.0, 2.5e9)  # fold: 2 transfers and an add, then 2 rounds
    5.5
    """
    q = _power_of_two_below(p)
    step = latency + nbytes / bandwidth
    rounds = math.log2(q) * (step + reduce_seconds(nbytes, reduce_rate))
    return rounds + _fold_time(p, nbytes, bandwidth, latency, reduce_rate)


def _fold_time(p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None) -> float:
    """What MPICH's fold adds when ``p`` is not a power of two: a message in and its add, a message out."""
    if p == _power_of_two_below(p):
        return 0.0
    return 2 * (latency + nbytes / bandwidth) + reduce_seconds(nbytes, reduce_rate)


def halving_doubling_time(
    p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None = None
) -> float:
    """Closed-form halving-doubling time: ``2 log2(q) alpha + 2 (q-1)/q M/B + (q-1)/q M/R``, plus the fold when ``p > q``.

    Examples
    --------
    >>> halving_doubling_time(4, 1.25e9, 1.25e9, 0.0)   # 1/2 + 1/4 of M each way
    1.5
    """
    q = _power_of_two_below(p)
    share = (q - 1) / q * nbytes
    rounds = 2 * math.log2(q) * latency + 2 * share / bandwidth + reduce_seconds(share, reduce_rate)
    return rounds + _fold_time(p, nbytes, bandwidth, latency, reduce_rate)


# ---- pipelined binary tree ------------------------------------------------------------------------------------------


def tree_chunks(nbytes: float, chunk_bytes: float) -> tuple[int, float]:
    """How many equal chunks of at most ``chunk_bytes`` the tree pipelines ``nbytes`` in, and their size.

    Examples
    --------
    >>> tree_chunks(10.0, 4.0)
    (3, 3.3333333333333335)
    """
    count = max(1, math.ceil(nbytes / chunk_bytes))
    return count, nbytes / count


def _height(node: int, p: int) -> int:
    """Levels below ``node`` in the binary heap of ``p`` nodes (its leftmost path is its longest)."""
    height = 0
    while 2 * node + 1 < p:
        node, height = 2 * node + 1, height + 1
    return height


def _tree_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    """Reduce up the binary heap (children ``2i+1``, ``2i+2``) in chunks, then broadcast down, pipelined.

    A node of height ``h`` takes chunk ``j`` from its children in round
    ``j + h - 1`` and adds it, sends it to its parent in round ``j + h`` (so
    chunk ``j + 1`` comes in while chunk ``j`` goes up); once the root has
    reduced every chunk (round ``S - 1``, ``S = C + H - 1`` with ``H`` the
    root's height), a node of depth ``d`` takes chunk ``j`` from its parent in
    round ``S + j + d - 1`` and forwards it to its children in the next.
    """
    count, chunk = tree_chunks(nbytes, options.chunk_bytes)
    children = [c for c in (2 * node + 1, 2 * node + 2) if c < p]
    height, depth = _height(node, p), (node + 1).bit_length() - 1
    parent = (node - 1) // 2
    first_broadcast = count + _height(0, p) - 1
    rounds: dict[int, tuple[list[tuple[int, float, int]], int, float]] = {}

    def at(k: int, sends: tuple[tuple[int, float, int], ...] = (), receives: int = 0, add: float = 0.0) -> None:
        posted, taken, added = rounds.get(k, ([], 0, 0.0))
        rounds[k] = (posted + list(sends), taken + receives, added + add)

    for j in range(count):
        if children:
            at(j + height - 1, receives=len(children), add=len(children) * chunk)
            at(first_broadcast + j + depth, sends=tuple((c, chunk, first_broadcast + j + depth) for c in children))
        if node:
            at(j + height, sends=((parent, chunk, j + _height(parent, p) - 1),))
            at(first_broadcast + j + depth - 1, receives=1)
    for k in sorted(rounds):
        posted, taken, added = rounds[k]
        yield Step(k, tuple(posted), taken, added)


def _tree_messages(p: int, nbytes: float, options: CollectiveOptions) -> int:
    """A node with a parent and two children sends each chunk three times."""
    count, _ = tree_chunks(nbytes, options.chunk_bytes)
    return count * min(p - 1, 3)


def tree_time(
    p: int, nbytes: float, bandwidth: float, latency: float, reduce_rate: float | None = None,
    chunk_bytes: float = DEFAULT_CHUNK_BYTES,
) -> float:
    """Closed-form pipelined binary tree time on a complete tree (``p = 2^(H+1) - 1``).

    With ``C`` chunks of ``c = M / C``: two children share a parent's
    downlink (and a parent's uplink feeds two children), so a chunk takes
    ``2c / B`` per level. The reduction ends at
    ``E = H (alpha + 2c/B + 2c/R) + (C - 1) 2c max(1/B, 1/R)`` and the leaves
    have the last broadcast chunk ``(C + H - 1) 2c/B + H alpha`` later.

    Raises
    ------
    ValueError
        ``p`` is not one less than a power of two (the tree is not complete:
        siblings' chunks then do not arrive together, and the time has no
        closed form).

    Examples
    --------
    >>> tree_time(3, 2.0, 1.0, 0.0, chunk_bytes=1.0)   # 2 chunks: reduce 2 + 2, broadcast 2 + 2
    8.0
    """
    if p & (p + 1):
        raise ValueError(f"p={p}: the tree's closed form needs a complete binary tree, p = 2^k - 1")
    height = p.bit_length() - 1
    if height == 0:
        return 0.0
    count, chunk = tree_chunks(nbytes, chunk_bytes)
    level = 2 * chunk / bandwidth
    add = 2 * reduce_seconds(chunk, reduce_rate)
    reduced = height * (latency + level + add) + (count - 1) * max(level, add)
    return reduced + (count + height - 1) * level + height * latency


# ---- hierarchical: reduce in each server, leaders' collective, broadcast back -------------------------------------


def _server_groups(p: int, groups: tuple[int, ...]) -> list[list[int]]:
    """The workers of each server, servers in order of their first worker (no groups: every worker alone)."""
    members: dict[int, list[int]] = {}
    for worker in range(p):
        members.setdefault(groups[worker] if groups else worker, []).append(worker)
    return list(members.values())


def _hierarchical_steps(node: int, p: int, nbytes: float, options: CollectiveOptions) -> Iterator[Step]:
    """Round 0: a server's workers send their message to its first worker (the leader), which adds them; then the
    leaders run ``options.leader`` among themselves (rounds shifted by one); in the last round each leader sends the
    result to its workers."""
    servers = _server_groups(p, options.groups)
    leaders = [members[0] for members in servers]
    mine = next(members for members in servers if node in members)
    inner = CollectiveOptions(reduce_rate=options.reduce_rate, chunk_bytes=options.chunk_bytes)
    last = 2 + max(
        (s.round for rank in range(len(leaders)) for s in node_steps(options.leader, rank, len(leaders), nbytes, inner)),
        default=-1,
    )
    if node != mine[0]:
        yield Step(0, ((mine[0], nbytes, 0),))
        yield Step(last, (), 1)
        return
    if len(mine) > 1:
        yield Step(0, (), len(mine) - 1, (len(mine) - 1) * nbytes)
    for step in node_steps(options.leader, leaders.index(node), len(leaders), nbytes, inner):
        yield Step(step.round + 1, tuple((leaders[d], b, k + 1) for d, b, k in step.sends), step.receives, step.add)
    if len(mine) > 1:
        yield Step(last, tuple((worker, nbytes, last) for worker in mine[1:]))


def _hierarchical_messages(p: int, nbytes: float, options: CollectiveOptions) -> int:
    servers = _server_groups(p, options.groups)
    largest = max(len(members) for members in servers)
    return largest - 1 + messages_per_node(options.leader, len(servers), nbytes, options)


def hierarchical_time(
    gpus: int, nbytes: float, local_bandwidth: float, local_latency: float, leaders_seconds: float,
    reduce_rate: float | None = None,
) -> float:
    """Closed-form hierarchical time with ``gpus`` workers on every server: ``2 (alpha_l + (g-1) M / B_l)`` for the
    incast onto the leader and the broadcast back over the server's own links, the leader's ``(g-1) M / R`` of adds,
    and ``leaders_seconds``, the leaders' collective across servers.

    Examples
    --------
    >>> hierarchical_time(8, 1.0, 7.0, 0.5, leaders_seconds=3.0)
    6.0
    """
    local = local_latency + (gpus - 1) * nbytes / local_bandwidth
    return 2 * local + reduce_seconds((gpus - 1) * nbytes, reduce_rate) + leaders_seconds


for _member in (
    Collective("ring", _ring_steps, lambda p, nbytes, options: 2 * (p - 1)),
    Collective("parallel", _parallel_steps, lambda p, nbytes, options: p - 1),
    Collective("recursive-doubling", _recursive_doubling_steps, _folded_messages(_doubling)),
    Collective("halving-doubling", _halving_doubling_steps, _folded_messages(_halving_doubling)),
    Collective("tree", _tree_steps, _tree_messages),
    Collective("hierarchical", _hierarchical_steps, _hierarchical_messages),
):
    register_collective(_member)


def bucket_sizes(nbytes: float, bucket_bytes: float) -> list[float]:
    """Split ``nbytes`` of gradient into buckets of ``bucket_bytes`` (the last one smaller).

    Examples
    --------
    >>> bucket_sizes(60.0, 25.0)
    [25.0, 25.0, 10.0]
    """
    full, rest = divmod(nbytes, bucket_bytes)
    return [bucket_bytes] * int(full) + ([rest] if rest > 0 else [])
