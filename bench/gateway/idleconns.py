"""bench/gateway: the resident memory that idle keep-alive client connections cost a proxy.

Opens --connections connections to ADDRESS (at most --parallel opening at once, so the listen
backlog never overflows), sends one GET / on each and reads its response, so each is a real
keep-alive connection that has carried a request, then holds them all idle for --settle
seconds and reads the proxy's RSS; then closes them and reads it once more. The RSS is PID's
VmRSS, plus that of every descendant with --tree (nginx's workers). Prints one line:

    rss_before_kib rss_held_kib rss_after_close_kib connections_open_while_held

Needs a file-descriptor limit above --connections (raise `ulimit -n` first).
"""
import argparse
import asyncio
import os
import sys


def descendants(pid):
    """PID and every process under it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces and parentheses: the parent is after the last ')'.
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def rss_kib(pid, tree):
    total = 0
    for process in descendants(pid) if tree else [pid]:
        try:
            with open(f"/proc/{process}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def open_one(host, port, request, gate):
    async with gate:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"idleconns: answered {head.splitlines()[0]!r}")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise SystemExit("idleconns: a chunked answer; this client reads only Content-Length")
        await reader.readexactly(length)
        return reader, writer


async def run(args):
    host, port = args.address.rsplit(":", 1)
    request = f"GET / HTTP/1.1\r\nHost: {args.host}\r\nUser-Agent: bench-idleconns\r\n\r\n".encode()
    before = rss_kib(args.pid, args.tree)
    gate = asyncio.Semaphore(args.parallel)
    connections = await asyncio.gather(*(open_one(host, int(port), request, gate) for _ in range(args.connections)))
    await asyncio.sleep(args.settle)
    held = rss_kib(args.pid, args.tree)
    still_open = sum(1 for reader, _ in connections if not reader.at_eof())
    for _, writer in connections:
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for _, writer in connections), return_exceptions=True)
    await asyncio.sleep(args.settle)
    after = rss_kib(args.pid, args.tree)
    print(f"{before} {held} {after} {still_open}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--parallel", type=int, default=200, help="connections opening at once")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to hold before each reading")
    parser.add_argument("--host", default="bench.localhost", help="the Host header")
    parser.add_argument("--tree", action="store_true", help="count PID's descendants too")
    parser.add_argument("address", help="host:port of the proxy")
    parser.add_argument("pid", type=int, help="the proxy's process")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
