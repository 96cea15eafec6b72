import itertools
import json

import numpy as np
import pytest

import simsgp
from simsgp.report.trace import chrome_trace, write_chrome_trace

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
    """``{(node, iteration): [(ts, dur), ...]}`` of the complete events called ``name``, in time order."""
    spans = {}
    for e in events:
        if e["ph"] == "X" and e["name"] == name:
            spans.setdefault((e["tid"], e["args"]["iteration"]), []).append((e["ts"], e["dur"]))
    return {key: sorted(value) for key, value in spans.items()}


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
    """Compute ends at compute_end and lasts end - start - comm_wait; communication fills the rest of [start, end]."""
    result = request.getfixturevalue(fixture)
    events = _written(result, tmp_path)
    rec = result.records
    compute, communicate = _spans(events, "compute"), _spans(events, "communicate")
    iterations, nodes = rec["start"].shape
    assert sorted(compute) == [(i, t) for i in range(nodes) for t in range(iterations)]
    waits = [(i, t) for i in range(nodes) for t in range(iterations) if rec["comm_wait"][t, i] > 0]
    assert sorted(communicate) == waits
    for (i, t), [(ts, dur)] in compute.items():
        start, compute_end, end, wait = (rec[f][t, i] * 1e6 for f in ("start", "compute_end", "end", "comm_wait"))
        np.testing.assert_allclose([ts + dur, dur], [compute_end, end - start - wait], rtol=RTOL)
        pieces = sorted([(ts, dur), *communicate.get((i, t), [])])
        np.testing.assert_allclose(pieces[0][0], start, rtol=RTOL, atol=1e-3)  # a nanosecond at t = 0
        np.testing.assert_allclose(sum(d for _, d in pieces), end - start, rtol=RTOL)
        for (a, da), (b, _) in itertools.pairwise(pieces):  # back to back, no gaps or overlaps
            np.testing.assert_allclose(a + da, b, rtol=RTOL)


def test_chrome_trace_sgp_communicates_after_compute(sgp):
    events = chrome_trace(sgp)["traceEvents"]
    rec = sgp.records
    for (i, t), [(ts, dur)] in _spans(events, "communicate").items():
        np.testing.assert_allclose([ts, ts + dur], [rec["compute_end"][t, i] * 1e6, rec["end"][t, i] * 1e6], rtol=RTOL)


def test_chrome_trace_osgp_waits_before_compute(osgp):
    """Every iteration but the first blocks on its previous round first; the last also waits for its own after."""
    events = chrome_trace(osgp)["traceEvents"]
    compute, communicate = _spans(events, "compute"), _spans(events, "communicate")
    last = osgp.records["end"].shape[0] - 1
    assert sorted(communicate) == [(i, t) for i in range(3) for t in range(1, last + 1)]
    for (i, t), spans in communicate.items():
        (ts, dur), [(compute_ts, compute_dur)] = spans[0], compute[i, t]
        assert compute_ts == pytest.approx(ts + dur, rel=RTOL)
        assert len(spans) == (2 if t == last else 1)
        last_ts, last_dur = spans[-1] if t == last else (compute_ts, compute_dur)
        assert last_ts + last_dur == pytest.approx(osgp.records["end"][t, i] * 1e6, rel=RTOL)


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
