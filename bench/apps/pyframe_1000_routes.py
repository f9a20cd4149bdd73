"""pyframe with 1 000 extra dynamic routes /r<i>/<int:id>; the harness requests /r999/<id>."""

from _pyframe_common import build_app, serve

if __name__ == "__main__":
    serve(build_app(extra_routes=1000), __doc__)
