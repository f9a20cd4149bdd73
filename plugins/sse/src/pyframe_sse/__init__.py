"""Server-Sent Events for pyframe, with replay, keep-alive and fan-out."""
