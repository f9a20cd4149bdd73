"""outside's page example (its /hello handler) on outside 1.5.5 itself or on pyframe.compat.outside.

OUTSIDE_FRAMEWORK=outside runs it on outside (only installed in bench/.venv-peers, by
setup_peers.sh); anything else on pyframe's compat layer, access log off. The handler is the
page's, byte for byte; only the imports differ, as docs/migrating-from-outside.md says.
"""

import os
import sys

from _args import parse_args

if os.environ.get("OUTSIDE_FRAMEWORK") == "outside":
    from outside import OutsideHTTP
    from outside.protocol_http import Response

    # outside prints several lines per request from every forked process; pyframe's access
    # log is off too, so neither pays for a terminal.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
else:
    os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
    from pyframe.compat.outside import OutsideHTTP, Response

args = parse_args(__doc__)
server = OutsideHTTP((args.host, args.port))


def hello_world(request):
    return Response(
        status_code = 200,
        headers = {"Content-Type": "text/plain"},
        content = "Hello, World!"
    )


server.set_route("/hello", hello_world)
server.run()
