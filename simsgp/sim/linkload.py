"""The bytes every link has carried, sampled at instants of a run, in bounded memory.

:attr:`simsgp.sim.flows.Network.carried_bytes` is exact at any instant (what
entered a link less what its flows still have to send), so the bytes a link
carried between two samples over its capacity times the time between them is
exactly its mean utilisation over that interval, which the max-min fair
sharing of the flows bounds by 1. A :class:`LinkSampler` keeps such samples:
one at the start and one at the end of the run, and between them one every
``stride`` node-iterations (the node processes report iterations, see
:meth:`simsgp.sim.world.Run.log`); when it holds ``limit`` samples it drops
every other one, the first kept, and doubles its stride, so its memory is
bounded however long the run. Dropping samples only merges intervals: what
is left stays exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simsgp.sim.flows import Network

__all__ = ["LinkSampler", "sample_limit"]

SAMPLES = 512
"""The most samples a run keeps (fewer when it has so many links that they would pass :data:`FLOATS`)."""
FLOATS = 1 << 21
"""The most carried-bytes values (samples times links) a run keeps: 16 MiB of float64."""


def sample_limit(links: int) -> int:
    """How many samples a run with ``links`` links keeps: :data:`SAMPLES`, halved until they fit :data:`FLOATS` (at least 4).

    Examples
    --------
    >>> sample_limit(16), sample_limit(8192), sample_limit(10**7)
    (512, 256, 4)
    """
    limit = SAMPLES
    while limit > 4 and limit * links > FLOATS:
        limit //= 2
    return limit


class LinkSampler:
    """Cumulative bytes carried by every link of ``network`` at instants of the run.

    Parameters
    ----------
    network : Network
        The run's network; the first sample is taken now (the start of the run).
    stride : int
        Node-iterations between samples at first (it doubles whenever the
        samples are thinned); at least 1.
    limit : int, optional
        The most samples kept, an even number of at least 4 (default:
        :func:`sample_limit` of the network's links).

    Examples
    --------
    >>> import simpy
    >>> from simsgp.sim.flows import Network
    >>> from simsgp.sim.topology import star
    >>> env = simpy.Environment()
    >>> net = Network(env, star(2, bandwidth=100.0, latency=0.0))
    >>> sampler = LinkSampler(net, stride=1)
    >>> _ = net.send(0, 1, 300.0)
    >>> env.run(until=1.0)
    >>> sampler.sample()
    1
    >>> env.run()
    >>> samples = sampler.finish()
    >>> samples["time"].tolist(), samples["carried"][:, 0].tolist(), samples["names"].tolist()
    ([0.0, 1.0, 3.0], [0.0, 100.0, 300.0], ['h0.up', 'h1.up', 'h0.down', 'h1.down'])
    """

    def __init__(self, network: Network, *, stride: int, limit: int | None = None):
        self.network = network
        self.limit = sample_limit(len(network.capacity)) if limit is None else limit
        if self.limit < 4 or self.limit % 2:
            raise ValueError(f"limit={self.limit}; expected an even number of at least 4")
        self.stride = max(int(stride), 1)
        self._times = [float(network.env.now)]
        self._carried = [network.carried_bytes]

    def sample(self) -> int:
        """Keep the bytes carried now (not at the instant of the previous sample); return node-iterations until the next.

        Samples are taken at distinct instants only. The analytic mode's clock
        stands at the start until its end, so there only the start and the
        end are kept: one interval, the whole run.
        """
        now = self.network.env.now
        if now != self._times[-1]:
            self._keep(now, self.network.carried_bytes)
        return self.stride

    def finish(self) -> dict[str, np.ndarray]:
        """The samples, the last one now (the end of the run).

        Returns
        -------
        dict of ndarray
            ``time`` (shape ``(k,)``, seconds, increasing, ``time[0]`` the
            start), ``carried`` (shape ``(k, links)``, bytes each link has
            carried by then; ``carried[-1]`` is what the summary's
            ``link_bytes`` reports), ``capacity`` (bytes per second of each
            link) and ``names`` (``"h0.up"``, as in the summary's
            ``busiest_link``).
        """
        now, carried = self.network.env.now, self.network.carried_bytes
        if now == self._times[-1]:
            self._carried[-1] = carried
        else:
            self._keep(now, carried)
        return {
            "time": np.array(self._times),
            "carried": np.stack(self._carried),
            "capacity": np.array(self.network.capacity),
            "names": np.array(self.network.topology.link_names, dtype=str),
        }

    def _keep(self, now: float, carried: np.ndarray) -> None:
        if len(self._times) == self.limit:  # full: every other sample goes, the first stays
            del self._times[1::2], self._carried[1::2]
            self.stride *= 2
        self._times.append(float(now))
        self._carried.append(carried)
