"""The image's entrypoint: runs the server $APP names (ws_echo, grpc_ping or stream) in this
process, so that the server itself is PID 1 and handles SIGTERM.

`--command python3 --args /app/grpc_ping.py` runs one directly instead.
"""

import os
import runpy
import sys

SERVERS = ("ws_echo", "grpc_ping", "stream")

name = os.environ.get("APP", "ws_echo")
if name not in SERVERS:
    sys.exit(f"serve.py: APP={name!r} names no server; one of {', '.join(SERVERS)}")
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py"), run_name="__main__")
