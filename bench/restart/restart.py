"""bench/restart: recovery time and lost requests across server restarts (see run.sh)."""
import argparse
import concurrent.futures
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from skiffbench import get  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`skiff server` processes on one data dir and fixed ports, started and stopped at will."""

    def __init__(self, args):
        self.args = args
        self.api = free_port()
        self.http = free_port()
        self.process = None
        with open(os.path.join(args.work, "ports"), "w") as f:
            f.write(f"{self.api} {self.http}\n")

    def launch(self):
        log = open(os.path.join(self.args.work, "server.log"), "a")
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.args.work, "config"))
        return subprocess.Popen(
            [self.args.skiff, "server", "--data-dir", os.path.join(self.args.work, "data"),
             "--http", f"127.0.0.1:{self.http}", "--api", f"127.0.0.1:{self.api}",
             "--bridge", self.args.bridge, "--subnet", self.args.subnet, "--log-level", "warning"],
            stdout=log, stderr=log, env=env)

    def start(self):
        self.process = self.launch()
        self.wait_for_api()

    def wait_for_api(self):
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.api}/v1/health", timeout=1).read()
                return
            except OSError:
                time.sleep(0.01)
        sys.exit("the server did not answer; see server.log")

    def replace(self):
        """A second server beside the running one: it takes the socket over, the old one leaves."""
        old, self.process = self.process, self.launch()
        old.wait(timeout=120)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=120)

    @property
    def token(self):
        with open(os.path.join(self.args.work, "data", "admin.token")) as f:
            return f.read().strip()

    def cli(self, *words):
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.args.work, "config"))
        subprocess.run([self.args.skiff, *words, "--server", f"http://127.0.0.1:{self.api}"], check=True, env=env,
                       stdout=subprocess.DEVNULL)

    def ready_instances(self):
        request = urllib.request.Request(f"http://127.0.0.1:{self.api}/v1/instances",
                                         headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return sum(1 for i in json.load(response) if i["state"] in ("ready", "frozen"))
        except OSError:
            return -1


def until_serving(server, services, instances, started):
    """Seconds from `started` until every service answers 200 and `instances` are ready."""
    pending = set(services)
    served_at = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        while pending:
            statuses = dict(zip(pending, pool.map(
                lambda name: get(f"127.0.0.1:{server.http}", f"{name}.localhost:{server.http}", timeout=10),
                list(pending))))
            pending = {name for name, status in statuses.items() if status != 200}
            if time.monotonic() - started > 120:
                sys.exit(f"not serving after 120 s: {sorted(pending)}")
    served_at = time.monotonic() - started
    while server.ready_instances() < instances:
        if time.monotonic() - started > 120:
            sys.exit("instances not back after 120 s")
        time.sleep(0.005)
    return served_at, time.monotonic() - started


def wrk_during(server, service, action, rounds):
    wrk = subprocess.Popen(
        ["wrk", "-t1", "-c4", "-d10m", "--timeout", "10s", "-H", f"Host: {service}.localhost:{server.http}",
         f"http://127.0.0.1:{server.http}/"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    for _ in range(rounds):
        action()
        server.wait_for_api()
        time.sleep(0.5)
    wrk.send_signal(signal.SIGINT)
    out = wrk.communicate()[0]
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeout = (int(x) for x in m.groups()) if m else (0, 0, 0, 0)
    return requests, non2xx, connect, read + write + timeout, out


def run(args):
    server = Server(args)
    server.start()
    server.cli("images", "load", os.path.join(args.work, "image") + ":v1", "--tag", "bench:v1")
    services = [f"svc{i:02d}" for i in range(args.services)]
    instances = args.services * args.per
    print(f"deploying {args.services} services × {args.per} instances of nginx…", flush=True)
    for name in services:
        server.cli("deploy", name, "--image", "bench:v1", "--min-instances", str(args.per), "--freeze-after", "0")

    rows = []
    for kind in ("SIGKILL", "takeover", "from nothing"):
        times = []
        for _ in range(3):
            if kind == "SIGKILL":
                server.kill()
                started = time.monotonic()
                server.start()
            elif kind == "takeover":
                started = time.monotonic()
                server.replace()
            else:
                server.stop()
                started = time.monotonic()
                server.start()
            times.append(until_serving(server, services, instances, started))
        served = statistics.median(t[0] for t in times)
        complete = statistics.median(t[1] for t in times)
        rows.append((kind, served, complete))
    print(f"\n(a) restart with {instances} running instances ({args.services} services), median of 3")
    print(f"{'restart':<14} {'every service answers':>22} {'every instance routed':>22}")
    for kind, served, complete in rows:
        print(f"{kind:<14} {served * 1000:>19.0f} ms {complete * 1000:>19.0f} ms")
    base = rows[2][2]
    for kind, _, complete in rows[:2]:
        print(f"ratio {kind} / from nothing: {complete / base:.3f}")

    print(f"\n(b) requests lost under wrk -c4 on {services[0]}, {args.rounds} restarts each")
    requests, non2xx, refused, lost, out = wrk_during(server, services[0], server.replace, args.rounds)
    print(f"takeover: {requests} requests, {non2xx} non-2xx, {refused + lost} socket errors")

    def crash():
        server.kill()
        server.start()
    requests, non2xx, refused, lost, out = wrk_during(server, services[0], crash, args.rounds)
    print(f"SIGKILL:  {requests} requests, {non2xx} non-2xx, {refused + lost} socket errors")
    print(f"  (a SIGKILL loses the {4 * args.rounds} connections open at those moments; until the next server listens,")
    print("   wrk retries its connects in a loop and counts each refused one as a read error)")
    server.stop()


def cleanup(args):
    """Stops whatever server still runs on the work dir (SIGINT: instances too)."""
    subprocess.run(["pkill", "-INT", "-f", "--", f"--data-dir {os.path.join(args.work, 'data')}"], check=False)
    for _ in range(300):
        if subprocess.run(["pgrep", "-f", "--", f"--data-dir {os.path.join(args.work, 'data')}"],
                          stdout=subprocess.DEVNULL).returncode != 0:
            return
        time.sleep(0.1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run", "cleanup"])
    parser.add_argument("--work", required=True)
    parser.add_argument("--skiff", required=True)
    parser.add_argument("--bridge", default="skbench4")
    parser.add_argument("--subnet", default="10.251.12.0/23")
    parser.add_argument("--services", type=int, default=25)
    parser.add_argument("--per", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    run(args) if args.command == "run" else cleanup(args)
