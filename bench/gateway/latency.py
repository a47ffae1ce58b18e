"""bench/gateway: the latency of one request at light load, in µs, for several targets at once.

Each target gets one keep-alive connection. Requests go one at a time over all targets, round
robin (the order rotates every pass, so no target always follows the same one), paced to
--rate requests/s in all: the proxies see one request at a time and sit idle in between, as at
light load. Each request is timed with perf_counter_ns from the first byte sent to the last
byte of its response read. Prints one line per target, in the order given:

    name p50_us p90_us p99_us requests

Run as: latency.py [--requests N] [--rate R] [--host H] name=host:port ...
"""
import argparse
import socket
import sys
import time


class Connection:
    """One HTTP/1.1 keep-alive connection that sends GET / and reads whole responses."""

    def __init__(self, name, address, host):
        self.name = name
        hostname, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((hostname, int(port)), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench-latency\r\n\r\n".encode()
        self.buffer = bytearray()

    def exchange(self):
        """Sends one request and reads its response; the nanoseconds that took."""
        start = time.perf_counter_ns()
        self.sock.sendall(self.request)
        self.read_response()
        return time.perf_counter_ns() - start

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit(f"latency: {self.name} closed the connection")
        self.buffer += data

    def take_line(self):
        while (end := self.buffer.find(b"\r\n")) < 0:
            self.fill()
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    def take(self, count):
        while len(self.buffer) < count:
            self.fill()
        del self.buffer[:count]

    def read_response(self):
        status = self.take_line()
        if not status.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"latency: {self.name} answered {status!r}")
        length, chunked = None, False
        while line := self.take_line():
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while (size := int(self.take_line().split(b";")[0], 16)) > 0:
                self.take(size + 2)
            while self.take_line():
                pass
        elif length is not None:
            self.take(length)
        else:
            raise SystemExit(f"latency: {self.name} answered without a length on a keep-alive connection")


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per target")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests per target first")
    parser.add_argument("--rate", type=float, default=1000, help="requests per second over all targets")
    parser.add_argument("--host", default="bench.localhost", help="the Host header")
    parser.add_argument("targets", nargs="+", help="name=host:port")
    args = parser.parse_args()

    connections = []
    for target in args.targets:
        name, _, address = target.partition("=")
        connections.append(Connection(name, address, args.host))
    for _ in range(args.warmup):
        for connection in connections:
            connection.exchange()

    interval = 1e9 / args.rate
    samples = {connection.name: [] for connection in connections}
    deadline = time.perf_counter_ns()
    for index in range(args.requests):
        shift = index % len(connections)
        for connection in connections[shift:] + connections[:shift]:
            deadline += interval
            pause = deadline - time.perf_counter_ns()
            if pause > 0:
                time.sleep(pause / 1e9)
            samples[connection.name].append(connection.exchange())

    for connection in connections:
        values = sorted(samples[connection.name])
        p50, p90, p99 = (percentile(values, f) / 1000 for f in (0.5, 0.9, 0.99))
        print(f"{connection.name} {p50:.1f} {p90:.1f} {p99:.1f} {len(values)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
