"""Configuration and the command line's start import no simulation code.

Reading a scenario, ``simsgp --help`` and ``simsgp scenarios`` must not load
the event loop, the graph and data libraries or plotting; the simulator loads
when a run needs it. (How fast they start is measured in
``benchmarks/startup.py``, not here.)
"""

import subprocess
import sys

import pytest

import simsgp

HEAVY = ("numpy", "simpy", "scipy", "sklearn", "matplotlib", "networkx", "torch", "pandas")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return sorted(set(out.split()) & set(HEAVY))


@pytest.mark.parametrize(
    "code",
    [
        "import simsgp",
        "import simsgp.scenario",
        "import simsgp.algorithms",
        "import simsgp.cli",
        (
            "from simsgp.cli import main; import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['scenarios'])"
        ),
    ],
)
def test_configuration_and_the_command_line_load_no_simulation_library(code):
    assert _loaded_after(code) == []


def test_validating_a_scenario_loads_only_what_its_checks_need():
    loaded = _loaded_after("import simsgp.scenario as s; s.from_dict({'algorithm': {'name': 'allreduce'}})")
    assert "matplotlib" not in loaded and "sklearn" not in loaded and "torch" not in loaded


def test_the_lazy_names_of_the_package_are_its_public_api():
    assert sorted(simsgp.__all__) == sorted([*simsgp._HOMES, "__version__"])
    assert all(getattr(simsgp, name) is not None for name in simsgp.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simsgp.nope  # noqa: B018
