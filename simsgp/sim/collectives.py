"""Collective operations as node processes over the network, and their closed forms.

The processes move real flows through :class:`simsgp.sim.flows.Network`, so
contention with other traffic is modelled; the closed forms are the alpha-beta
costs they must reproduce on an idle star network.
"""

from __future__ import annotations

from collections.abc import Generator, Hashable
from typing import Any

from simsgp.sim.mailbox import Mailbox, post

__all__ = [
    "COLLECTIVES",
    "allreduce",
    "bucket_sizes",
    "messages_per_node",
    "parallel_allreduce",
    "parallel_allreduce_time",
    "ring_allreduce",
    "ring_allreduce_time",
]

COLLECTIVES = ("ring", "parallel")
"""Allreduce implementations: ring (Patarasuk and Yuan 2009) and parallel all-to-all (every node sends its whole gradient to every other)."""


def ring_allreduce(
    network, mailboxes: list[Mailbox], node: int, p: int, nbytes: float, tag: Hashable
) -> Generator[Any, Any, None]:
    """Node ``node``'s part of a ring allreduce of ``nbytes`` among nodes ``0..p-1``.

    Reduce-scatter then allgather: ``2 (p - 1)`` steps; in each, every node
    sends a chunk of ``nbytes / p`` to its successor and waits for the chunk of
    its predecessor before the next step (Patarasuk and Yuan 2009).
    Use as ``yield from ring_allreduce(...)`` inside a SimPy process.
    """
    successor = (node + 1) % p
    chunk = nbytes / p
    for step in range(2 * (p - 1)):
        post(network, mailboxes, node, successor, (tag, step), None, chunk)
        yield mailboxes[node].get((tag, step), 1)


def parallel_allreduce(
    network, mailboxes: list[Mailbox], node: int, p: int, nbytes: float, tag: Hashable
) -> Generator[Any, Any, None]:
    """Node ``node``'s part of a parallel (all-to-all) allreduce: send ``nbytes`` to every other node.

    Every node then reduces what it received locally: one round, ``p - 1`` flows out of and into
    every NIC.
    """
    for peer in range(p):
        if peer != node:
            post(network, mailboxes, node, peer, tag, None, nbytes)
    yield mailboxes[node].get(tag, p - 1)


def messages_per_node(kind: str, p: int) -> int:
    """Messages each of ``p`` nodes sends in one allreduce of the collective named ``kind``.

    Examples
    --------
    >>> messages_per_node("ring", 8), messages_per_node("parallel", 8)
    (14, 7)
    """
    return 2 * (p - 1) if kind == "ring" else p - 1


def allreduce(
    kind: str, network, mailboxes: list[Mailbox], node: int, p: int, nbytes: float, tag: Hashable
) -> Generator[Any, Any, None]:
    """Dispatch to the collective named ``kind`` (one of :data:`COLLECTIVES`)."""
    collective = ring_allreduce if kind == "ring" else parallel_allreduce
    return collective(network, mailboxes, node, p, nbytes, tag)


def bucket_sizes(nbytes: float, bucket_bytes: float) -> list[float]:
    """Split ``nbytes`` of gradient into buckets of ``bucket_bytes`` (the last one smaller).

    Examples
    --------
    >>> bucket_sizes(60.0, 25.0)
    [25.0, 25.0, 10.0]
    """
    full, rest = divmod(nbytes, bucket_bytes)
    return [bucket_bytes] * int(full) + ([rest] if rest > 0 else [])


def ring_allreduce_time(p: int, nbytes: float, bandwidth: float, latency: float) -> float:
    """Closed-form ring allreduce time: ``2 (p-1) alpha + 2 (p-1) / p * M / B``.

    Examples
    --------
    >>> round(ring_allreduce_time(32, 102.2e6, 1.25e9, 0.0), 4)
    0.1584
    """
    return 2 * (p - 1) * latency + 2 * (p - 1) / p * nbytes / bandwidth


def parallel_allreduce_time(p: int, nbytes: float, bandwidth: float, latency: float) -> float:
    """Closed-form parallel allreduce time: ``alpha + (p - 1) M / B``.

    Examples
    --------
    >>> parallel_allreduce_time(4, 1.25e9, 1.25e9, 0.5)
    3.5
    """
    return latency + (p - 1) * nbytes / bandwidth
