"""WebSockets for pyframe, with a manager whose broadcasts reach every worker."""
