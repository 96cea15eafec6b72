import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simsgp.sim.cluster
from simsgp.errors import ScenarioError
from simsgp.sim.cluster import ComputeTimes, load_trace, lognormal_params, speed_profile, warp


def _draws(ct, node, k, now=0.0):
    return np.array([ct.duration(node, now) for _ in range(k)])


def _write(tmp_path, text, name="trace.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- nominal models and slow nodes --------------------------------------------


def test_compute_constant_with_slow_node():
    ct = ComputeTimes("constant", 0.2, 3, np.random.SeedSequence(1), multipliers={2: 4.0})
    assert _draws(ct, 0, 3).tolist() == [0.2] * 3
    assert _draws(ct, 2, 2).tolist() == [0.2 * 4.0] * 2


def test_compute_lognormal_mean_and_cv_match_parameters():
    """Sample mean and cv within 5 standard errors of the requested ones (20k draws)."""
    mean, cv, k = 0.1, 0.3, 20_000
    ct = ComputeTimes("lognormal", mean, 1, np.random.SeedSequence(7), cv=cv)
    x = _draws(ct, 0, k)
    assert abs(x.mean() - mean) < 5 * cv * mean / np.sqrt(k)
    assert x.std() / x.mean() == pytest.approx(cv, rel=0.05)


def test_lognormal_params_reproduce_mean():
    mu, sigma = lognormal_params(0.25, 0.5)
    assert np.exp(mu + sigma**2 / 2) == pytest.approx(0.25, rel=1e-12)


def test_compute_streams_are_per_node_and_seeded():
    """A node's draws do not depend on how often other nodes drew before it."""
    kw = {"cv": 0.2, "transient_probability": 0.3}
    a = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(3), **kw)
    b = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(3), **kw)
    _draws(a, 0, 5000)  # node 0 draws past a block boundary first
    np.testing.assert_array_equal(_draws(a, 1, 10), _draws(b, 1, 10))
    np.testing.assert_array_equal(_draws(a, 0, 3), _draws(b, 0, 5003)[-3:])


def test_compute_draws_do_not_depend_on_block_size(monkeypatch):
    kw = {"cv": 0.2, "transient_probability": 0.4}
    reference = _draws(ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(4), **kw), 1, 3000)
    monkeypatch.setattr(simsgp.sim.cluster, "_BLOCK", 7)
    small = _draws(ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(4), **kw), 1, 3000)
    np.testing.assert_array_equal(small, reference)


def test_compute_same_seed_same_durations_with_every_mechanism():
    def durations(seed):
        ct = ComputeTimes(
            "lognormal", 0.1, 3, np.random.SeedSequence(seed), cv=0.3, multipliers={0: 2.0},
            transient_probability=0.2, stragglers=[(1, 3.0, 0.5, 2.0)], failures=[(2, 1.0, 1.5)],
        )  # fmt: skip
        return [ct.duration(i, 0.1 * k) for k in range(50) for i in range(3)]

    assert durations(11) == durations(11)
    assert durations(11) != durations(12)


def test_compute_slow_node_scales_lognormal_draws():
    fast = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(5), cv=0.2)
    slow = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(5), cv=0.2, multipliers={1: 3.0})
    np.testing.assert_allclose(_draws(slow, 1, 10), 3.0 * _draws(fast, 1, 10), rtol=1e-15)


def test_compute_rejects_unknown_model():
    with pytest.raises(ScenarioError, match=r"cluster\.compute\.model='weibull'; expected one of"):
        ComputeTimes("weibull", 0.1, 2, np.random.SeedSequence(0))


# --- transient slowdowns --------------------------------------------------------


def test_compute_transient_certain_slowdown_is_exact():
    ct = ComputeTimes(
        "constant", 0.5, 2, np.random.SeedSequence(0), multipliers={1: 2.0},
        transient_probability=1.0, transient_low=3.0, transient_high=3.0,
    )  # fmt: skip
    assert _draws(ct, 0, 5).tolist() == [0.5 * 3.0] * 5
    assert _draws(ct, 1, 5).tolist() == [0.5 * 2.0 * 3.0] * 5


def test_compute_transient_frequency_and_factor_match_parameters():
    """Slowed fraction within 5 sigma of p; slowed factors in [low, high] with mean within 5 SE (20k draws)."""
    p, low, high, k = 0.25, 2.0, 4.0, 20_000
    ct = ComputeTimes(
        "constant", 0.5, 1, np.random.SeedSequence(9),
        transient_probability=p, transient_low=low, transient_high=high,
    )  # fmt: skip
    factor = _draws(ct, 0, k) / 0.5
    slowed = factor[factor != 1.0]
    assert abs(slowed.size - p * k) < 5 * math.sqrt(k * p * (1 - p))
    assert low <= slowed.min() and slowed.max() <= high
    assert abs(slowed.mean() - (low + high) / 2) < 5 * (high - low) / math.sqrt(12 * slowed.size)


def test_compute_transients_leave_nominal_draws_unchanged():
    """Nominal and transient draws use separate streams: every duration is the nominal one or slower."""
    plain = _draws(ComputeTimes("lognormal", 0.1, 1, np.random.SeedSequence(2), cv=0.3), 0, 2000)
    noisy = _draws(
        ComputeTimes("lognormal", 0.1, 1, np.random.SeedSequence(2), cv=0.3, transient_probability=0.5), 0, 2000
    )
    ratio = noisy / plain
    assert np.all((ratio == 1.0) | ((ratio >= 2.0 * (1 - 1e-12)) & (ratio <= 4.0 * (1 + 1e-12))))


# --- trace replay ---------------------------------------------------------------


def test_compute_trace_wide_replays_rows_with_slow_multiplier(tmp_path):
    """Row k mod n_rows; the mean is ignored, the slow multiplier applies."""
    path = _write(tmp_path, "gpu0,gpu1,gpu2\n0.1,0.2,9\n0.3,0.4,9\n")
    ct = ComputeTimes("trace", 5.0, 2, np.random.SeedSequence(0), trace_path=path, multipliers={1: 2.0})
    assert _draws(ct, 0, 5).tolist() == [0.1, 0.3, 0.1, 0.3, 0.1]
    assert _draws(ct, 1, 3).tolist() == [0.2 * 2.0, 0.4 * 2.0, 0.2 * 2.0]


def test_compute_trace_wraps_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(simsgp.sim.cluster, "_BLOCK", 2)
    path = _write(tmp_path, "0.1,0.2\n0.3,0.4\n0.5,0.6\n")
    ct = ComputeTimes("trace", 1.0, 2, np.random.SeedSequence(0), trace_path=path)
    assert _draws(ct, 1, 7).tolist() == [0.2, 0.4, 0.6, 0.2, 0.4, 0.6, 0.2]


def test_load_trace_long_format_any_row_order(tmp_path):
    """Long format: per-node lengths may differ; nodes >= n_nodes are ignored."""
    path = _write(tmp_path, "seconds,node,iteration\n0.4,1,1\n0.1,0,0\n0.3,1,0\n0.2,0,1\n0.5,1,2\n7,5,0\n")
    trace = load_trace(path, 2)
    assert [t.tolist() for t in trace] == [[0.1, 0.2], [0.3, 0.4, 0.5]]
    ct = ComputeTimes("trace", 1.0, 2, np.random.SeedSequence(0), trace_path=path)
    assert _draws(ct, 1, 4).tolist() == [0.3, 0.4, 0.5, 0.3]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no rows"),
        ("a,b\n", "header but no data rows"),
        ("0.1,0.2\n0.1,abc\n", r"row 2, column 2: 'abc'; expected a positive number"),
        ("0.1,0.2\n\n-0.1,0.2\n", r"row 3, column 1: '-0.1'"),
        ("0.1,0\n", r"row 1, column 2: '0'"),
        ("0.1,nan\n", r"row 1, column 2: 'nan'"),
        ("0.1,0.2\n0.1\n", r"row 2 has 1 columns; expected at least 2 \(one per node\)"),
        ("node,iteration,seconds\n0,0,0.1\n", "no rows for node 1"),
        ("node,iteration,seconds\n0,0,0.1\n1,0,0.1\n1,2,0.1\n", "node 1 has no iteration 1"),
        ("node,iteration,seconds\n0,0,0.1\n1,0,0.1\n0,0,0.2\n", "row 4 repeats node 0 iteration 0"),
        ("node,iteration,seconds\n0,x,0.1\n", r"row 2, column 2: 'x'; expected an integer"),
        ("node,iteration,seconds\n0,0\n", "row 2 has 2 columns; expected 3"),
    ],
)
def test_load_trace_rejects_bad_file_naming_file_row_and_column(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError, match=r"cluster\.compute\.path='.*trace\.csv'") as info:
        load_trace(path, 2)
    assert info.match(match)


def test_load_trace_rejects_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"cluster\.compute\.path='.*missing\.csv': cannot read"):
        ComputeTimes("trace", 1.0, 2, np.random.SeedSequence(0), trace_path=str(tmp_path / "missing.csv"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0.1,1_0\n", r"row 1, column 2: '1_0'; expected a positive number of seconds, finite and written as a plain"),
        ("0.1,1e999\n", r"row 1, column 2: '1e999'; expected a positive number"),
        ("0.1,inf\n", r"row 1, column 2: 'inf'"),
        ("0.1,-inf\n", r"row 1, column 2: '-inf'"),
        ("0.1,0x10\n", r"row 1, column 2: '0x10'"),
        ("0.1,\u0661\n", r"row 1, column 2: '\u0661'"),
        ("0.1," + "x" * 10_000 + "\n", r"row 1, column 2: 'xxx.*\.\.\..*xxx'; expected"),
        ("node,iteration,seconds\n0,\u0661,0.1\n", r"row 2, column 2: '\u0661'; expected an integer >= 0 of at most 18"),
        ("node,iteration,seconds\n0,\u00b2,0.1\n", r"row 2, column 2: '\u00b2'; expected an integer"),
        ("node,iteration,seconds\n0," + "9" * 5000 + ",0.1\n", r"row 2, column 2: '999.*\.\.\..*999'; expected an integer"),
        ("node,iteration,seconds\n1_0,0,0.1\n", r"row 2, column 1: '1_0'; expected an integer"),
    ],
)
def test_load_trace_accepts_only_plain_finite_decimals(tmp_path, text, match):
    """float() also reads 1_0, inf and nan; int() reads non-ASCII digits: none of them is a trace value."""
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError, match=match) as info:
        load_trace(path, 2)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_load_trace_plain_decimals_with_spaces_and_exponents(tmp_path):
    path = _write(tmp_path, " 0.25 , 1e-3\n3,+.5\n1e308,2.\n")
    assert [t.tolist() for t in load_trace(path, 2)] == [[0.25, 3.0, 1e308], [1e-3, 0.5, 2.0]]


@pytest.mark.parametrize(
    "text",
    ["0.1,0.2\n0.3,0.4\n", "gpu0,gpu1\n0.1,0.2\n0.3,0.4\n", "node,iteration,seconds\n0,0,0.1\n1,0,0.2\n0,1,0.3\n1,1,0.4\n"],
)
def test_load_trace_accepts_utf8_byte_order_mark(tmp_path, text):
    """Read as text, a BOM glues onto the first cell: row 1 of a wide trace would pass for a header, the long header be missed."""
    path = tmp_path / "trace.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    assert [t.tolist() for t in load_trace(str(path), 2)] == [[0.1, 0.3], [0.2, 0.4]]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (bytes(range(128, 256)), r"the trace is not UTF-8 text \(byte 0x80 at offset 0\)"),
        ("0.1,0.2\n".encode("utf-16"), r"the trace is not UTF-8 text \(byte 0xff at offset 0\)"),
        ("0.1,0.2\n".encode("utf-16-le"), r"the trace is not UTF-8 text \(it holds NUL bytes, as UTF-16 text does\)"),
        ("gpu\xe9,gpu1\n0.1,0.2\n".encode("latin-1"), r"the trace is not UTF-8 text \(byte 0xe9 at offset 3\)"),
    ],
)
def test_load_trace_not_utf8_is_one_line_error(tmp_path, data, match):
    path = tmp_path / "trace.csv"
    path.write_bytes(data)
    with pytest.raises(ScenarioError, match=r"cluster\.compute\.path='.*trace\.csv': " + match):
        load_trace(str(path), 2)


@pytest.mark.parametrize(("name", "reason"), [("x" * 300, "File name too long"), (".", "Is a directory")])
def test_load_trace_unusable_path_is_one_line_error(name, reason):
    with pytest.raises(ScenarioError, match=rf"cluster\.compute\.path='.*': cannot read the trace \({reason}\)") as info:
        load_trace(name, 2)
    assert len(str(info.value)) < 200


def test_compute_trace_requires_path():
    with pytest.raises(ScenarioError, match=r"cluster\.compute\.path=None"):
        ComputeTimes("trace", 1.0, 2, np.random.SeedSequence(0))


# --- warp and speed profiles ----------------------------------------------------


@pytest.mark.parametrize(
    ("now", "work", "breakpoints", "speeds", "expected"),
    [
        (3.0, 1.5, [], [1.0], 1.5),
        (0.0, 1.0, [0.5, 10.0], [1.0, 0.25, 1.0], 0.5 + 0.5 * 4),  # crosses into a 4x window
        (0.0, 5.0, [0.5, 1.0], [1.0, 0.25, 1.0], 0.5 + 0.5 + (5.0 - 0.5 - 0.125)),  # crosses a whole window
        (3.0, 1.0, [2.0, 5.0], [1.0, 0.0, 1.0], 2.0 + 1.0),  # starts inside a failure: waits for its end
        (0.0, 3.0, [1.0, 4.0], [1.0, 0.0, 1.0], 1.0 + 3.0 + 2.0),  # failure in the middle: work kept
        (5.0, 1.0, [1.0, 2.0], [1.0, 0.25, 1.0], 1.0),  # window entirely in the past
        (2.0, 1.0, [2.0, 4.0], [1.0, 0.5, 1.0], 2.0),  # window starts exactly at now: applies
        (4.0, 1.0, [2.0, 4.0], [1.0, 0.5, 1.0], 1.0),  # window ends exactly at now: over
        (0.0, 1.0, [1.0, 3.0], [1.0, 0.0, 1.0], 1.0),  # work ends exactly when a failure starts
        (3.0, 0.0, [2.0, 5.0], [1.0, 0.0, 1.0], 0.0),  # no work takes no time, even while failed
        (0.0, 1.0, [2.0], [1.0, 0.0], 1.0),  # done before a permanent failure
        (0.0, 3.0, [2.0], [1.0, 0.0], math.inf),  # never done
    ],
)
def test_warp_closed_form(now, work, breakpoints, speeds, expected):
    assert warp(now, work, breakpoints, speeds) == pytest.approx(expected, rel=1e-12)


def test_warp_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 speeds for 2 breakpoints"):
        warp(0.0, 1.0, [1.0, 2.0], [1.0, 1.0])


@st.composite
def _profiles(draw):
    points = draw(st.lists(st.floats(0, 100), min_size=0, max_size=8, unique=True))
    speed = st.one_of(st.just(0.0), st.floats(0.05, 1.0))
    speeds = draw(st.lists(speed, min_size=len(points), max_size=len(points)))
    return sorted(points), [1.0, *speeds[:-1], 1.0] if points else [1.0]


_times = st.floats(0, 120)
_works = st.floats(0, 50)


@given(_profiles(), _times, _works, _works)
def test_warp_is_monotone_in_work(profile, now, a, b):
    small, large = sorted((a, b))
    assert warp(now, small, *profile) <= warp(now, large, *profile)


@given(_profiles(), _times, _times, _works)
def test_warp_later_start_never_finishes_earlier(profile, now1, now2, work):
    early, late = sorted((now1, now2))
    assert early + warp(early, work, *profile) <= late + warp(late, work, *profile) + 1e-9


@given(_profiles(), _times, _works, _works)
def test_warp_splits_work_consistently(profile, now, a, b):
    """Doing a then b takes as long as doing a + b at once."""
    first = warp(now, a, *profile)
    assert warp(now, a + b, *profile) == pytest.approx(first + warp(now + first, b, *profile), rel=1e-9, abs=1e-9)


def test_speed_profile_overlaps_multiply_and_failure_wins():
    breakpoints, speeds = speed_profile([(2.0, 0.0, 10.0), (3.0, 5.0, 15.0), (math.inf, 8.0, 9.0), (2.0, 8.5, 12.0)])
    assert breakpoints == [0.0, 5.0, 8.0, 8.5, 9.0, 10.0, 12.0, 15.0]
    assert speeds == [1.0, 1 / 2, 1 / 6, 0.0, 0.0, 1 / 12, 1 / 6, 1 / 3, 1.0]


# --- stragglers and failures in ComputeTimes ------------------------------------


def test_compute_straggler_window_warps_duration():
    ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), stragglers=[(1, 4.0, 0.5, 10.0)])
    assert ct.duration(0, 0.0) == 1.0
    assert ct.duration(1, 0.0) == 0.5 + 0.5 * 4.0
    assert ct.duration(1, 2.0) == 4.0
    assert ct.duration(1, 20.0) == 1.0


def test_compute_failure_waits_and_keeps_work():
    ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), failures=[(0, 2.0, 5.0)])
    assert ct.duration(0, 3.0) == 2.0 + 1.0
    assert ct.duration(0, 1.5) == 0.5 + 3.0 + 0.5
    assert ct.duration(1, 3.0) == 1.0


def test_compute_slow_node_straggler_and_transient_compose():
    """Nominal x slow multiplier x transient factor, then warped by overlapping windows (factors multiply)."""
    ct = ComputeTimes(
        "constant", 0.5, 2, np.random.SeedSequence(0), multipliers={0: 2.0},
        transient_probability=1.0, transient_low=1.5, transient_high=1.5,
        stragglers=[(0, 2.0, 0.0, 100.0), (0, 3.0, 0.0, 100.0)],
    )  # fmt: skip
    assert ct.duration(0, 0.0) == pytest.approx(0.5 * 2.0 * 1.5 * 2.0 * 3.0, rel=1e-12)
    assert ct.duration(1, 0.0) == 0.5 * 1.5


def test_compute_down_time_merges_overlapping_failures():
    failures = [(0, 4.0, 7.0), (0, 2.0, 5.0), (0, 9.0, 10.0)]
    ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), failures=failures)
    assert ct.failure_windows == (((2.0, 7.0), (9.0, 10.0)), ())
    assert ct.down_time(0, 0.0, 20.0) == 5.0 + 1.0
    assert ct.down_time(0, 3.0, 9.5) == 4.0 + 0.5
    assert ct.down_time(0, 7.0, 9.0) == 0.0
    assert ct.down_time(1, 0.0, 20.0) == 0.0
