import numpy as np
import pytest
import simpy

from simsgp.sim import physics


@pytest.fixture
def env():
    return simpy.Environment()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _check_every_message(monkeypatch):
    """Every run of the suite logs its messages and checks each against its physical bound."""
    monkeypatch.setattr(physics, "check_every_message", True)
