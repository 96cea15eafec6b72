"""Push-sum mass is conserved in a run cut by its time limit, wherever the cut finds the shares.

A time limit stops a run mid-round: shares may be on the network, in a
mailbox, or handed to a node that has not added them yet, and a node may
hold only its kept share. The weights of the nodes plus those of the
outstanding shares must still sum to the number of nodes.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsgp
from simsgp.sim.mailbox import Message, Unmixed


@settings(max_examples=12, deadline=None)
@given(
    algorithm=st.sampled_from(["sgp", "osgp", "dpsgd"]),
    half=st.integers(1, 4),  # D-PSGD's bipartite graph needs an even number of nodes
    topology=st.sampled_from(["star-10gbe", "wan-geo", "racks-oversubscribed"]),
    time_limit=st.floats(0.05, 3.0),
    payload=st.sampled_from([1e5, 1e7, 4e7]),
)
def test_a_time_limited_push_sum_run_conserves_mass(algorithm, half, topology, time_limit, payload):
    nodes = 2 * half + (algorithm != "dpsgd" and half % 2)
    result = simsgp.run({
        "time_limit": time_limit, "cluster": {"nodes": nodes}, "network": {"topology": topology},
        "algorithm": {"name": algorithm, **({"tau": 2} if algorithm == "osgp" else {})},
        "task": {"name": "quadratic", "payload": payload}, "eval_every": 0,
    })  # every run is also checked against physics before it is returned
    total = float(np.sum(result.weights)) + result.summary["weight_unmixed"]
    assert total == pytest.approx(nodes, rel=1e-9)


def test_osgp_cut_mid_round_leaves_shares_outstanding():
    result = simsgp.run({"time_limit": 45.0, "cluster": {"nodes": 16}, "network": {"topology": "wan-geo"},
                         "algorithm": {"name": "osgp"}, "task": {"payload": "resnet18"}, "eval_every": 0})
    assert result.summary["weight_unmixed"] > 0
    assert float(np.sum(result.weights)) + result.summary["weight_unmixed"] == pytest.approx(16, rel=1e-9)


def test_a_share_added_twice_or_never_sent_is_refused():
    ledger = Unmixed()
    ledger.sent(0, 1, 3, 0.5)
    message = Message(0, 1, 3, 0.0, (None, 0.5))
    ledger.mixed(message)
    with pytest.raises(RuntimeError, match="never sent or was added already"):
        ledger.mixed(message)
    with pytest.raises(RuntimeError, match="from node 2"):
        ledger.mixed(Message(2, 1, 3, 0.0, (None, 0.5)))
