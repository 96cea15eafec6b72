"""The README's three recipes: every command of their blocks runs, and every answer the README gives holds.

The blocks are read from README.md itself, so a recipe edited there is the
recipe tested here; each answer is checked against the sweep's own tables
and, where one exists, against the closed form of the schedule.
"""

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from simsgp.cli import main
from simsgp.tasks import payload_bytes

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
pytestmark = pytest.mark.slow


def _recipe(name: str) -> tuple[list[list[str]], str]:
    """The commands of recipe ``name`` and the README text that answers it (up to the next recipe or section)."""
    match = re.search(rf"<!-- recipe: {name} -->\n```bash\n(.*?)```\n(.*?)(?=\n\*\*\(|\n## )", README, flags=re.DOTALL)
    assert match, f"recipe {name} not in README.md"
    commands = [shlex.split(line) for line in match.group(1).splitlines() if line.strip()]
    assert 1 <= len(commands) <= 3 and all(argv[0] == "simsgp" for argv in commands)
    return [argv[1:] for argv in commands], match.group(2)


def _run(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    commands, answer = _recipe(name)
    monkeypatch.chdir(folder)
    for argv in commands:
        assert main(argv) == 0, argv
    return answer


def _number(text: str, pattern: str) -> float:
    match = re.search(pattern, text, flags=re.DOTALL)
    assert match, pattern
    return float(match.group(1))


def test_recipe_a_sgp_against_allreduce_on_16_nodes(tmp_path, monkeypatch):
    answer = _run("a", tmp_path, monkeypatch)
    means = pd.read_csv(tmp_path / "runs/resnet50/results-mean.csv").set_index("algorithm.name")
    sgp, allreduce = means.loc["sgp"], means.loc["allreduce"]
    # closed forms: SGP computes, then pushes the model once; ring allreduce moves 2 (n - 1) / n of it per link
    nbytes, bandwidth, latency, n = payload_bytes("resnet50", 1), 1.25e9, 20e-6, 16
    assert sgp["sim_time_per_iteration_mean"] == pytest.approx(0.1 + latency + nbytes / bandwidth, rel=1e-9)
    ring = 0.1 + 2 * (n - 1) * latency + 2 * (n - 1) / n * nbytes / bandwidth
    assert allreduce["sim_time_per_iteration_mean"] == pytest.approx(ring, rel=1e-9)
    assert _number(answer, r"SGP takes ([\d.]+) s") == round(sgp["sim_time_per_iteration_mean"], 4)
    assert _number(answer, r"AllReduce ([\d.]+) s") == round(allreduce["sim_time_per_iteration_mean"], 4)
    ratio = allreduce["sim_time_per_iteration_mean"] / sgp["sim_time_per_iteration_mean"]
    assert _number(answer, r"SGP is ([\d.]+)x faster") == round(ratio, 2)
    # "converges the same": the 95 % intervals of the final accuracies overlap
    gap = abs(sgp["final_accuracy_mean"] - allreduce["final_accuracy_mean"])
    assert gap <= sgp["final_accuracy_ci95"] + allreduce["final_accuracy_ci95"]
    assert sgp["seeds"] == allreduce["seeds"] == 3
    for name, row in (("SGP", sgp), ("AllReduce", allreduce)):
        assert _number(answer, rf"{name} ([\d.]+) ±") == round(row["final_accuracy_mean"], 3)
        assert _number(answer, rf"{name} [\d.]+ ± ([\d.]+)") == round(row["final_accuracy_ci95"], 3)
    assert (tmp_path / "runs/resnet50/plots/accuracy_vs_time.png").is_file()


def test_recipe_b_one_node_three_times_slower(tmp_path, monkeypatch):
    answer = _run("b", tmp_path, monkeypatch)
    runs = pd.read_csv(tmp_path / "runs/slow/results.csv")
    pace = runs.set_index(["algorithm.name", "cluster.slow_nodes.3"])["median_node_time_per_iteration"]
    growth = {name: pace[name, 3.0] / pace[name, 1.0] for name in ("sgp", "osgp", "adpsgd")}
    assert growth["adpsgd"] <= 1.2  # the criterion: AD-PSGD's fast nodes keep their pace
    assert growth["sgp"] >= 2.0  # ... while SGP's wait for the straggler
    assert "**within 1.2x**" in answer and "**at least\n2x**" in answer
    for name, label in (("sgp", "SGP's"), ("osgp", "overlap SGP")):
        low, high = re.search(rf"{label}.*?\(?([\d.]+) to ([\d.]+) s", answer, flags=re.DOTALL).groups()
        assert (float(low), float(high)) == (round(pace[name, 1.0], 2), round(pace[name, 3.0], 2)), name
    assert _number(answer, r"keep their pace \(\*\*within 1\.2x\*\*, ([\d.]+) s\)") == round(pace["adpsgd", 3.0], 2)
    assert "per-node progress timeline" in answer
    assert len(list((tmp_path / "runs/slow/plots").glob("progress_timeline-*.png"))) == len(runs) == 6


def test_recipe_c_which_reaches_90_percent_first_on_a_wan(tmp_path, monkeypatch):
    answer = _run("c", tmp_path, monkeypatch)
    runs = pd.read_csv(tmp_path / "runs/wan/results.csv").set_index("algorithm.name")
    reached = runs["time_to_target"].sort_values()
    assert reached.notna().all() and (runs["status"] == "ok").all()
    assert _number(answer, r"about (\d+) s") == round(reached.iloc[0])
    winner = re.search(r"here \*\*(\S+)\*\* reaches 90 % first", answer).group(1)
    assert winner == reached.index[0]
    named = {"AllReduce": "allreduce", "SGP": "sgp", "overlap SGP": "osgp"}
    stated = re.findall(r"(AllReduce|overlap SGP|SGP) \((\d+) s", answer)
    assert [named[label] for label, _ in stated] == list(reached.index[1:])  # the order the README gives
    for label, seconds in stated:
        assert int(seconds) == round(reached[named[label]]), label
