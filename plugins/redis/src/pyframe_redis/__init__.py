"""Redis implementation of pyframe's shared backends (broker, store, event log)."""
