"""pyframe with zero plugins, on uvloop, access log off."""

from _pyframe_common import build_app, serve

if __name__ == "__main__":
    serve(build_app(), __doc__)
