"""Steps that node processes share: the building blocks of an algorithm, built-in or the user's own.

:func:`start_compute`, :func:`wait` and :func:`push` start timed work and hand back what a
node process yields or keeps; the other functions do one piece of math on the
node's rows of the stacked state (:class:`simsgp.sim.world.ModelState`), and skip
it in timing-only runs (no task: ``run.learner.math`` false), where only the
schedule matters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.learn.optim import sgd_update
from simsgp.learn.pushsum import debias, receive, share
from simsgp.sim.mailbox import Message, post
from simsgp.sim.simpy_internals import is_processed

if TYPE_CHECKING:
    import simpy

    from simsgp.sim.world import GossipRun, Run


__all__ = ["compute_step", "draw_batch", "gossip_round", "gradient", "held_weight", "mix_in", "per_node", "push", "sgd_step", "start_compute", "wait"]


def per_node(run: Run, process: Callable[..., Generator[Any, Any, None]], *args: Any) -> None:
    """Start ``process(run, node, *args)`` as a SimPy process for every worker node."""
    for node in range(run.n):
        run.world.env.process(process(run, node, *args))


def start_compute(run: Run, i: int) -> tuple[Any, simpy.Event]:
    """Draw node ``i``'s mini-batch and start its compute time.

    Returns the batch and the event that fires when the compute phase is over
    (the caller yields it).
    """
    batch = draw_batch(run, i)
    return batch, wait(run, run.world.compute.duration(i, run.world.env.now))


def compute_step(run: Run, i: int, at: Any = None) -> Generator[Any, Any, tuple[float, Any]]:
    """Node ``i``'s compute phase, then its SGD step (a generator: ``loss, x = yield from compute_step(run, i)``).

    The gradient is taken when the phase ends, at ``at`` (default: the
    de-biased ``z_i`` then); returns ``(loss, new x_i)`` as :func:`sgd_step`.
    """
    batch, computed = start_compute(run, i)
    yield computed
    return sgd_step(run, i, batch, at)


def draw_batch(run: Run, i: int) -> Any:
    """Node ``i``'s next mini-batch (None in a timing-only run, which draws nothing)."""
    learner = run.learner
    return learner.task.sample_batch(i, learner.batch_rngs[i]) if learner.math else None


def wait(run: Run, seconds: float) -> simpy.Event:
    """An event ``seconds`` from now; one that never fires for ``inf`` (a node failed for good).

    A timeout at infinity would be processed, and the clock would read inf.
    """
    return run.world.env.timeout(seconds) if seconds < math.inf else run.world.env.event()


def gradient(run: Run, i: int, point: Any, batch: Any) -> tuple[float, Any]:
    """Node ``i``'s mini-batch loss and gradient at ``point``; NaN and zeros in a timing-only run."""
    learner = run.learner
    if not learner.math:
        return math.nan, run.state.xp.zeros_like(point)
    return learner.task.grad(i, point, batch)


def sgd_step(run: Run, i: int, batch: np.ndarray, at: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Gradient at ``at`` (default: the de-biased ``z_i``), SGD step on ``x_i``.

    Updates the node's momentum row and returns ``(loss, new x_i)``; the
    caller decides where the new ``x_i`` goes.
    """
    state = run.state
    if not run.learner.math:
        return math.nan, state.x[i]
    point = debias(state.x[i], state.w[i]) if at is None else at
    loss, grad = gradient(run, i, point, batch)
    x, state.momentum[i] = sgd_update(state.x[i], grad, state.momentum[i], run.learner.sgd)
    return loss, x


def push(
    run: Run, i: int, tag: Any, x: np.ndarray, w: float, peers: Sequence[int]
) -> tuple[np.ndarray, float | np.ndarray, list[simpy.Event]]:
    """Split ``(x, w)`` into ``len(peers) + 1`` shares, keep one as node ``i``'s state and send one to each peer.

    Returns the kept share and the delivery events of the sends. Each sent
    share is outstanding (``run.state.unmixed``) until its receiver mixes it.
    """
    if not run.learner.math:
        return x, w, [post(run.world.network, run.world.mailboxes, i, j, tag, (x, w), run.nbytes) for j in peers]
    x_share, w_share = share(x, w, len(peers))
    run.state.x[i], run.state.w[i] = x_share, w_share  # the node holds its kept share until it mixes
    sent = []
    for j in peers:
        sent.append(post(run.world.network, run.world.mailboxes, i, j, tag, (x_share, w_share), run.nbytes))
        run.state.unmixed.sent(i, j, tag, w_share)
    return x_share, w_share, sent


def gossip_round(run: GossipRun, i: int, r: int, x: Any) -> Generator[Any, Any, None]:
    """Node ``i``'s push-sum round ``r`` as SGP runs it (a generator: ``yield from`` it).

    Push shares of ``(x, w_i)`` to the out-peers of round ``r``'s graph,
    wait until the in-peers' shares of round ``r`` have arrived and this
    node's own sends are delivered (the official code's gossip thread
    returns only then), and add the shares.
    """
    graph = run.graph
    x_keep, w_keep, sent = push(run, i, r, x, run.state.w[i], graph.out_peers(r)[i])
    arrived = yield run.world.mailboxes[i].get(r, len(graph.in_peers(r)[i]))
    for delivered in sent:  # own pushes delivered too (usually already: their callbacks have run)
        if not is_processed(delivered):
            yield delivered
    mix_in(run, i, x_keep, w_keep, arrived)


def mix_in(run: Run, i: int, x: np.ndarray, w: float | np.ndarray, arrived: Sequence[Message]) -> None:
    """Set node ``i``'s state to ``(x, w)`` plus the shares that ``arrived``."""
    if not run.learner.math:
        return
    for message in arrived:
        run.state.unmixed.mixed(message)
    run.state.x[i], run.state.w[i] = receive(x, w, [m.payload[0] for m in arrived], [m.payload[1] for m in arrived])


def held_weight(run: Run) -> float:
    """Push-sum weight in shares sent with :func:`push` and not yet added with :func:`mix_in` (NaN in timing-only runs).

    With the nodes' weights it sums to the number of nodes: push-sum
    conserves mass, and this is where the rest of it lies at the end of a
    run: in shares that arrived after their receiver's last mix and, in a
    run cut by its ``time_limit``, in shares still on the network or handed
    to a node that had not added them yet (see :class:`simsgp.sim.mailbox.Unmixed`).
    """
    if not run.learner.math:
        return math.nan
    return run.state.unmixed.weight()
