"""Tests of the shared backends: contracts, memory bounds, registry, Redis faults."""
