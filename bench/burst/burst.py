#!/usr/bin/env python3
"""The burst measurement for bench/burst/run.sh (see there)."""
import argparse
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from skiffbench import get  # noqa: E402
import skiffbench  # noqa: E402


class Bench(skiffbench.Skiff):
    """The server under test, plus the burst."""

    def burst(self, service):
        """CLIENTS clients released at once, one request each. Returns (seconds until the last
        answer, errors, instance counts over time as (t, serving, starting))."""
        clients = self.args.clients
        barrier = threading.Barrier(clients + 1)
        results = [None] * clients
        finished = [0.0] * clients

        def client(index):
            barrier.wait()
            results[index] = get(self.args.http, f"{service}.localhost")
            finished[index] = time.perf_counter()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        timeline = []
        done = threading.Event()

        def sample(start):
            while not done.is_set():
                states = [i["state"] for i in self.instances(service)]
                timeline.append((time.perf_counter() - start, sum(s in ("ready", "frozen") for s in states),
                                 states.count("starting")))
                time.sleep(0.05)

        barrier.wait()
        start = time.perf_counter()
        sampler = threading.Thread(target=sample, args=(start,))
        sampler.start()
        for thread in threads:
            thread.join()
        elapsed = max(finished) - start
        # Keep watching a little: the autoscaler's reaction outlives a short burst.
        time.sleep(2)
        done.set()
        sampler.join()
        errors = [r for r in results if r != 200]
        return elapsed, errors, timeline

    def wait_until_empty(self, service, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.instances(service):
                return
            time.sleep(0.1)
        raise SystemExit(f"{service} did not scale to zero within {timeout} s")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--api", "--http", "--token", "--skiff", "--config"):
        parser.add_argument(flag)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bench = Bench(args)

    cold_times, warm_times, all_errors, timelines = [], [], [], []
    for round in range(args.rounds):
        service = f"burst{round}"
        bench.cli("deploy", service, "--image", "bench:v1", "--initial-instances", "0", "--concurrency",
                  str(args.concurrency), "--frozen-retention", "0s", "--no-wait")
        elapsed, errors, timeline = bench.burst(service)
        cold_times.append(elapsed)
        all_errors += errors
        timelines.append(timeline)
        # The same burst again, now that instances are running: the reference.
        elapsed, errors, _ = bench.burst(service)
        warm_times.append(elapsed)
        all_errors += errors
        bench.cli("services", "delete", service)

    print(f"{args.clients} clients at once, concurrency {args.concurrency} per instance, {args.rounds} rounds")
    cold, warm = statistics.median(cold_times), statistics.median(warm_times)
    print(f"from zero: all served in {cold * 1000:.0f} ms (median; rounds: "
          + ", ".join(f"{t * 1000:.0f}" for t in cold_times) + ")")
    print(f"warm:      all served in {warm * 1000:.0f} ms (median; rounds: "
          + ", ".join(f"{t * 1000:.0f}" for t in warm_times) + ")")
    print(f"ratio from zero / warm: {cold / warm:.2f}x")
    print(f"errors: {len(all_errors)} (goal: 0)" + (f": {all_errors[:5]}" if all_errors else ""))
    print("instances over time, first round (t s: serving/starting):")
    line = []
    last = None
    for t, serving, starting in timelines[0]:
        if (serving, starting) != last:
            line.append(f"{t:.2f}: {serving}/{starting}")
            last = (serving, starting)
    print("  " + ", ".join(line))


if __name__ == "__main__":
    main()
