"""Fixtures for the auth tests: a clock the tests move by hand, RSA keys made once, and apps
with the auth plugin served on a real socket, free of any stray config or environment."""

from __future__ import annotations


import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from .support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)

