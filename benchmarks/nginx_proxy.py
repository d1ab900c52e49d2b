"""A floor for the miss-overhead benchmark: nginx as a keep-alive reverse proxy, no logic, written in C.

    python -m benchmarks.nginx_proxy --upstream http://127.0.0.1:8081 --run-dir /tmp/nginx-proxy --port 9003

What it adds to the backend's latency is what one more local HTTP hop costs on this machine by itself (two more
socket writes, two more wake-ups), without an interpreter: the part of the miss overhead no gateway can avoid.
The process replaces itself with nginx (``daemon off``), so stopping it stops nginx; its configuration, pid and
log go to ``--run-dir`` (the benchmark's work directory, removed after the run).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from urllib.parse import urlsplit

from tests.backends.servers import NGINX, nginx_user_line

CONF = """\
{user_line}
worker_processes 1;
pid "{run}/nginx.pid";
error_log "{run}/error.log" warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path "{run}/body";
  proxy_temp_path "{run}/proxy";
  fastcgi_temp_path "{run}/fastcgi";
  uwsgi_temp_path "{run}/uwsgi";
  scgi_temp_path "{run}/scgi";
  upstream backend {{
    server {upstream};
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location = /__ready {{ return 200 "ok"; }}
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="base URL of the backend, e.g. http://127.0.0.1:8081")
    parser.add_argument("--run-dir", type=Path, required=True, help="where the configuration, pid and log go")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    upstream = urlsplit(args.upstream)
    run: Path = args.run_dir.resolve()
    run.mkdir(parents=True, exist_ok=True)
    conf = run / "nginx.conf"
    address = f"{upstream.hostname}:{upstream.port or 80}"
    conf.write_text(CONF.format(user_line=nginx_user_line(), run=run, upstream=address, port=args.port))
    os.execv(NGINX, [NGINX, "-p", str(run), "-c", str(conf), "-e", str(run / "error.log"), "-g", "daemon off;"])


if __name__ == "__main__":
    main()
