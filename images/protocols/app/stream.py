"""An HTTP/1.1 server on $PORT whose responses are produced over time, to see whether a
proxy forwards them as they come and lets a slow client hold the producer back.

    GET /                                  200 "ok" (for probes)
    GET /sse?n=N&id=ID&interval_ms=100     text/event-stream: events 1 … N, one per interval
    GET /chunked?parts=N&delay_ms=D&id=ID  chunked: "part 1" … "part N", D ms apart
    GET /firehose?id=ID&limit=BYTES        BYTES zeros (default 512 MiB), written as fast as
                                           the connection takes them
    GET /progress?id=ID                    how far the response of ID has got: events or
                                           parts sent, or bytes written, as text

`id` is any name the client picks; /progress answers 0 for one it has not seen.
"""

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

progress = {}
progress_lock = threading.Lock()


def note_progress(stream, value):
    with progress_lock:
        progress[stream] = value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        route = {
            "/": self.root,
            "/sse": self.sse,
            "/chunked": self.chunked,
            "/firehose": self.firehose,
            "/progress": self.progress,
        }.get(url.path)
        if route is None:
            self.answer(404, "not found\n")
        else:
            route(query)

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def root(self, query):
        self.answer(200, "ok\n")

    def progress(self, query):
        with progress_lock:
            value = progress.get(query.get("id", ""), 0)
        self.answer(200, f"{value}\n")

    def start_chunked(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        # wfile is unbuffered: each chunk leaves in its own send.
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def sse(self, query):
        stream, count = query.get("id", ""), int(query.get("n", "10"))
        interval = int(query.get("interval_ms", "100")) / 1000
        self.start_chunked("text/event-stream")
        try:
            for number in range(1, count + 1):
                self.write_chunk(f"id: {number}\ndata: event {number}\n\n".encode())
                note_progress(stream, number)
                if number < count:
                    time.sleep(interval)
            self.write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def chunked(self, query):
        stream, parts = query.get("id", ""), int(query.get("parts", "5"))
        delay = int(query.get("delay_ms", "200")) / 1000
        self.start_chunked("text/plain")
        try:
            for number in range(1, parts + 1):
                self.write_chunk(f"part {number}\n".encode())
                note_progress(stream, number)
                if number < parts:
                    time.sleep(delay)
            self.write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def firehose(self, query):
        stream, limit = query.get("id", ""), int(query.get("limit", str(512 << 20)))
        block = bytes(64 << 10)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(limit))
        self.end_headers()
        written = 0
        try:
            while written < limit:
                # Blocks while the connection's buffers are full: that is the backpressure.
                part = block[: min(len(block), limit - written)]
                self.wfile.write(part)
                written += len(part)
                note_progress(stream, written)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        print(f"stream: firehose {stream} stopped after {written} bytes", flush=True)


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    # shutdown() waits for serve_forever to return, so it cannot run on the thread serving.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"stream: serving HTTP/1.1 on port {port}", flush=True)
    server.serve_forever()
    print("stream: stopped on SIGTERM", flush=True)


if __name__ == "__main__":
    main()
