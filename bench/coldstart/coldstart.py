#!/usr/bin/env python3
"""Cold-start measurements for bench/coldstart/run.sh (see there); `cleanup` undoes the floor's
network namespace and containers if a run was interrupted."""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from skiffbench import get  # noqa: E402
import skiffbench  # noqa: E402

NETNS = "skbench-floor"
VETH_HOST, VETH_NS = "skbfl-h", "skbfl-c"
HOST_IP, NS_IP = "10.251.9.1", "10.251.9.2"
CGROUP_PARENT = "skiffbench"


def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Skiff(skiffbench.Skiff):
    """The server under test, plus waiting on its instances."""

    def wait_for(self, service, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            instances = self.instances(service)
            if predicate(instances):
                return instances
            time.sleep(0.01)
        sys.exit(f"timed out waiting for {what}")


def from_frozen(skiff, args):
    """(a): the one instance is frozen before every try; also the warm latency right after."""
    skiff.cli("deploy", "warm", "--image", "bench:v1", "--min-instances", "1", "--freeze-after", "50ms")
    frozen, warm = [], []
    for _ in range(args.tries):
        skiff.wait_for("warm", lambda i: len(i) == 1 and i[0]["state"] == "frozen", "the instance to freeze")
        start = time.perf_counter()
        status = get(args.http, "warm.localhost")
        frozen.append((time.perf_counter() - start) * 1000)
        assert status == 200, f"from frozen: {status}"
        start = time.perf_counter()
        assert get(args.http, "warm.localhost") == 200
        warm.append((time.perf_counter() - start) * 1000)
    return frozen, warm


def from_nothing(skiff, args):
    """(b): a service with no instance; the request creates, starts and waits for one."""
    times = []
    for i in range(args.tries):
        name = f"cold{i}"
        skiff.cli("deploy", name, "--image", "bench:v1", "--initial-instances", "0", "--no-wait")
        start = time.perf_counter()
        status = get(args.http, f"{name}.localhost")
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, f"from nothing: {status}"
        skiff.cli("services", "delete", name)
    return times


def floor(skiff, args):
    """(c): runc run of the same bundle (Skiff's config.json and root filesystem) in a network
    namespace made beforehand, until its port answers."""
    instance = skiff.instances("warm")[0]["id"]
    source = f"{args.data}/instances/{instance}"
    bundle = f"{args.work}/floor"
    os.makedirs(bundle, exist_ok=True)
    subprocess.run(["cp", "-a", f"{source}/rootfs", f"{bundle}/rootfs"], check=True)
    for name in ("hosts", "hostname"):
        shutil.copy(f"{source}/{name}", f"{bundle}/{name}")
    with open(f"{source}/config.json") as f:
        config = json.load(f)
    config["root"]["path"] = f"{bundle}/rootfs"
    for mount in config["mounts"]:
        if mount["source"].startswith(source):
            mount["source"] = mount["source"].replace(source, bundle)
    for namespace in config["linux"]["namespaces"]:
        if namespace["type"] == "network":
            namespace["path"] = f"/run/netns/{NETNS}"
    setup_network()
    times = []
    for i in range(args.tries):
        container = f"skbench-floor-{i}"
        config["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{container}"
        with open(f"{bundle}/config.json", "w") as f:
            json.dump(config, f)
        start = time.perf_counter()
        subprocess.run(["runc", "run", "-d", "--bundle", bundle, container], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while get(f"{NS_IP}:8080", "floor", timeout=1) != 200:
            time.sleep(0.0005)
        times.append((time.perf_counter() - start) * 1000)
        sh("runc", "kill", container, "KILL", check=False)
        sh("runc", "delete", "--force", container, check=False)
    return times


def setup_network():
    cleanup_network()
    sh("ip", "netns", "add", NETNS)
    sh("ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS)
    sh("ip", "link", "set", VETH_NS, "netns", NETNS)
    sh("ip", "addr", "add", f"{HOST_IP}/30", "dev", VETH_HOST)
    sh("ip", "link", "set", VETH_HOST, "up")
    sh("ip", "netns", "exec", NETNS, "ip", "addr", "add", f"{NS_IP}/30", "dev", VETH_NS)
    sh("ip", "netns", "exec", NETNS, "ip", "link", "set", VETH_NS, "up")
    sh("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")


def cleanup_network():
    sh("ip", "link", "del", VETH_HOST, check=False)
    sh("ip", "netns", "del", NETNS, check=False)


def cleanup():
    listing = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
    for container in listing:
        if container.startswith("skbench-floor-"):
            sh("runc", "delete", "--force", container, check=False)
    cleanup_network()
    for path in sorted(glob.glob(f"/sys/fs/cgroup/*/{CGROUP_PARENT}/*"), reverse=True) + glob.glob(
            f"/sys/fs/cgroup/*/{CGROUP_PARENT}"):
        try:
            os.rmdir(path)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run", "cleanup"])
    for flag in ("--api", "--http", "--token", "--skiff", "--config", "--data", "--work"):
        parser.add_argument(flag)
    parser.add_argument("--tries", type=int, default=50)
    args = parser.parse_args()
    if args.command == "cleanup":
        cleanup()
        return
    skiff = Skiff(args)
    frozen, warm = from_frozen(skiff, args)
    nothing = from_nothing(skiff, args)
    base = floor(skiff, args)
    cleanup()

    rows = [("(a) from frozen", frozen), ("    warm, for reference", warm), ("(b) from nothing", nothing),
            ("(c) floor: runc run", base)]
    print(f"{'':<26} {'p50 ms':>9} {'p99 ms':>9}   ({args.tries} tries each)")
    for label, values in rows:
        print(f"{label:<26} {statistics.median(values):>9.3f} {percentile(values, 99):>9.3f}")
    c50, c99 = statistics.median(base), percentile(base, 99)
    a50, b50, b99 = statistics.median(frozen), statistics.median(nothing), percentile(nothing, 99)
    print(f"ratio b/c: p50 {b50 / c50:.2f}x, p99 {b99 / c99:.2f}x (goal: <= 1.5)")
    print(f"ratio a/c: p50 {a50 / c50:.4f}x; (a) p50 {a50:.3f} ms, p99 {percentile(frozen, 99):.3f} ms (goal: < 2 ms)")


if __name__ == "__main__":
    main()
