import numpy as np
import pytest
import simpy


@pytest.fixture
def env():
    return simpy.Environment()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
