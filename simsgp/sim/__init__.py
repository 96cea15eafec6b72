"""The simulated world: virtual time, the physical network, compute times, and one run built from a scenario.

:mod:`~simsgp.sim.engine` builds a run's parts (:mod:`~simsgp.sim.world`) and
drives them; :mod:`~simsgp.sim.topology` and :mod:`~simsgp.sim.flows` are the
network (hosts and links; max-min fair flows), :mod:`~simsgp.sim.cluster` the
compute times, :mod:`~simsgp.sim.physics` the invariants every run is
checked against.
"""
