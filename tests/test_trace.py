import json

import numpy as np
import pytest

import simsgp
from simsgp.trace import chrome_trace, write_chrome_trace

RTOL = 1e-6


def _run(**algorithm):
    return simsgp.run(
        {
            "iterations": 5,
            "cluster": {"nodes": 3},
            "trace": True,
            "task": {"payload": "resnet50"},
            "network": {"bandwidth": 1e8},
            "algorithm": algorithm,
        }
    )


@pytest.fixture(scope="module")
def sgp():
    return _run(name="sgp")


@pytest.fixture(scope="module")
def osgp():
    """1-OSGP on a slow network: every iteration after the first blocks on its gossip round first."""
    return _run(name="osgp", tau=0)


def _written(result, tmp_path):
    path = write_chrome_trace(result, tmp_path / "sub" / "trace.json")
    assert path == tmp_path / "sub" / "trace.json"
    return json.loads(path.read_text())["traceEvents"]


def _spans(events, name):
    """``{(node, iteration): (ts, dur)}`` of the complete events called ``name``."""
    spans = [e for e in events if e["ph"] == "X" and e["name"] == name]
    return {(e["tid"], e["args"]["iteration"]): (e["ts"], e["dur"]) for e in spans}


def test_chrome_trace_document_and_tracks(sgp, tmp_path):
    doc = json.loads(write_chrome_trace(sgp, tmp_path / "t.json").read_text())
    assert doc["displayTimeUnit"] == "ms"
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    title = "sgp, 3 nodes, star-10gbe, logistic-digits, seed 0"
    assert meta[0] == {"ph": "M", "pid": 0, "tid": 0, "name": "process_name", "args": {"name": title}}
    names = [e["args"]["name"] for e in meta if e["name"] == "thread_name"]
    assert names == ["node 0", "node 1", "node 2"]
    assert {e["pid"] for e in doc["traceEvents"]} == {0}


@pytest.mark.parametrize("fixture", ["sgp", "osgp"])
def test_chrome_trace_spans_match_records(fixture, request, tmp_path):
    result = request.getfixturevalue(fixture)
    events = _written(result, tmp_path)
    rec = result.records
    compute, communicate = _spans(events, "compute"), _spans(events, "communicate")
    iterations, nodes = rec["start"].shape
    assert sorted(compute) == [(i, t) for i in range(nodes) for t in range(iterations)]
    waits = [(i, t) for i in range(nodes) for t in range(iterations) if rec["comm_wait"][t, i] > 0]
    assert sorted(communicate) == waits
    for (i, t), (ts, dur) in compute.items():
        start, compute_end, end, wait = (rec[f][t, i] for f in ("start", "compute_end", "end", "comm_wait"))
        wait_first = compute_end == end and wait > 0
        expected = [start + wait if wait_first else start, end - start - wait]
        np.testing.assert_allclose([ts, dur], np.array(expected) * 1e6, rtol=RTOL)
        if wait > 0:
            expected = [start if wait_first else end - wait, wait]
            np.testing.assert_allclose(communicate[i, t], np.array(expected) * 1e6, rtol=RTOL)


def test_chrome_trace_sgp_communicates_after_compute(sgp):
    events = chrome_trace(sgp)["traceEvents"]
    rec = sgp.records
    for (i, t), (ts, dur) in _spans(events, "communicate").items():
        np.testing.assert_allclose([ts, ts + dur], [rec["compute_end"][t, i] * 1e6, rec["end"][t, i] * 1e6], rtol=RTOL)


def test_chrome_trace_osgp_waits_before_compute(osgp):
    events = chrome_trace(osgp)["traceEvents"]
    compute, communicate = _spans(events, "compute"), _spans(events, "communicate")
    assert len(communicate) == 3 * 4  # every iteration but the first blocks
    for key, (ts, dur) in communicate.items():
        assert compute[key][0] == pytest.approx(ts + dur, rel=RTOL)
        assert compute[key][0] + compute[key][1] == pytest.approx(osgp.records["end"][key[1], key[0]] * 1e6, rel=RTOL)


def test_chrome_trace_span_args(osgp):
    events = chrome_trace(osgp)["traceEvents"]
    node_1 = [e for e in events if e["ph"] == "X" and e["tid"] == 1]
    first, second = (next(e for e in node_1 if e["args"]["iteration"] == t) for t in (0, 1))
    rec = osgp.records
    assert first["args"] == {"iteration": 0, "loss": rec["loss"][0, 1], "bytes_sent": rec["bytes_sent"][0, 1]}
    assert second["args"]["staleness"] == rec["staleness"][1, 1] == 1.0


@pytest.mark.parametrize("fixture", ["sgp", "osgp"])
def test_chrome_trace_flows_match_messages(fixture, request, tmp_path):
    result = request.getfixturevalue(fixture)
    events = _written(result, tmp_path)
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    finishes = {e["id"]: e for e in events if e["ph"] == "f"}
    assert len(starts) == len(finishes) == len(result.messages) > 0
    for k, (src, dst, t_send, t_delivered, nbytes) in enumerate(result.messages.tolist()):
        s, f = starts[k], finishes[k]
        assert (s["tid"], f["tid"], f["bp"], s["name"], f["args"]) == (src, dst, "e", "message", {"nbytes": nbytes})
        assert s["ts"] == pytest.approx(t_send * 1e6, rel=RTOL)
        assert f["ts"] == pytest.approx(t_delivered * 1e6, rel=RTOL)


def test_chrome_trace_server_tracks():
    scenario = {"iterations": 3, "cluster": {"nodes": 3}, "trace": True, "algorithm": {"name": "ps-sync", "servers": 2}}
    result = simsgp.run(scenario)
    events = chrome_trace(result)["traceEvents"]
    names = [e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert names == ["node 0", "node 1", "node 2", "server 0", "server 1"]
    assert {e["tid"] for e in events if e["ph"] == "f"} >= {3, 4}


def test_chrome_trace_without_message_log_has_no_flows():
    result = simsgp.run({"iterations": 2, "cluster": {"nodes": 2}})
    events = chrome_trace(result)["traceEvents"]
    assert not [e for e in events if e["ph"] in "sf"]
    assert len(_spans(events, "compute")) == 4
