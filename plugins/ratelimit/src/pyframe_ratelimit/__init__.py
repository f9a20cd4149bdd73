"""Rate limiting for pyframe: GCRA limits shared across workers and machines."""
