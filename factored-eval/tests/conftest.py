import pytest

from felab.data.synthetic import generate


@pytest.fixture(scope="session")
def worlds():
    return generate(12, seed=0)
