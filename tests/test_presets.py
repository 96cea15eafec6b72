"""Every shipped preset runs, and its short-run summary matches the checked-in one.

If a change alters these numbers on purpose, regenerate
tests/data/preset_summaries.json and say why in the commit.
"""

import json
from pathlib import Path

import pytest

import simsgp
from simsgp.scenario import apply_overrides, load, presets

EXPECTED = json.loads((Path(__file__).parent / "data" / "preset_summaries.json").read_text())


def test_every_preset_has_a_checked_in_summary():
    assert sorted(EXPECTED) == sorted(presets())
    assert all(presets().values()), "every preset starts with a one-line description comment"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_summary_matches_checked_in_values(name):
    summary = simsgp.run(apply_overrides(load(name), ["iterations=5"])).summary
    for key, value in EXPECTED[name].items():
        assert summary[key] == pytest.approx(value, rel=1e-9), key
