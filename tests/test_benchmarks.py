"""The benchmark scripts run standalone (tiny sizes here; the figures come from full runs)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["bench_engine.py", "--nodes", "4", "--iterations", "10"],
        ["bench_scale.py", "--quick"],
        ["compare_algorithms.py", "--nodes", "4", "--iterations", "5", "--algorithms", "sgp", "allreduce"],
        ["bench_backend.py", "--nodes", "4", "--hidden", "8", "--iterations", "3", "--backends", "numpy", "cupy:cuda"],
        ["bench_startup.py", "--repeat", "1"],
        ["bench_linkload.py", "--nodes", "4", "--iterations", "10", "--repeat", "1"],
    ],
)
def test_benchmark_script_smoke_run(argv):
    done = subprocess.run([sys.executable, str(BENCHMARKS / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert "wall" in header or "s/it" in header or "median s" in header
    assert rows
