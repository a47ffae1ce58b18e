import Foundation
import SkiffTestSupport

/// Real clients for the protocol tests: Python scripts run by Debian's python3 with
/// python3-websockets, python3-grpcio and python3-h2 (`make deps` installs them). Each
/// connects to the gateway on 127.0.0.1 with the service's host as `Host` or `:authority`,
/// and prints what it saw as one JSON object on its last line.
///
/// The scripts live here, as `python3 -c` programs, so the test target needs no resources.
enum ProtocolClients {
    /// Runs `script` with `arguments` and returns the JSON object on its last line of output.
    static func run(_ script: String, _ arguments: [String]) async throws -> [String: Any] {
        let result = try await ChildProcess.run("/usr/bin/python3", ["-c", script] + arguments)
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard result.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        else {
            throw HarnessError("python3 client \(arguments) exited \(result.status): \(result.combined)")
        }
        return object
    }

    /// `PORT AUTHORITY MODE [FLAG_FILE]`: opens a WebSocket, echoes a text and a 256 KiB binary
    /// message, then by MODE: `echo` sends "close" (the server closes with 1000); `greet` does
    /// the same on /greet, where the server speaks first, and reports its greeting (null if none
    /// came within 10 s of the handshake, before the client sent anything); `hold` prints
    /// a first line, keeps the socket open until FLAG_FILE exists, echoes once more and sends
    /// "close"; `chatty` sends a message every 300 ms until the socket is closed; `quiet`
    /// waits for the close. Reports the close code (null without a close frame) and the
    /// seconds from the end of the echoes to the close; gives up after 60 s.
    static let webSocket = #"""
        import asyncio, json, os, sys, time
        import websockets

        port, authority, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]

        async def main():
            result = {}
            path = "/greet" if mode == "greet" else "/"
            async with websockets.connect(f"ws://{authority}{path}", host="127.0.0.1", port=port, max_size=None,
                                          open_timeout=120, ping_interval=None, close_timeout=10) as socket:
                if mode == "greet":
                    try:
                        result["greeting"] = await asyncio.wait_for(socket.recv(), 10)
                    except asyncio.TimeoutError:
                        result["greeting"] = None
                await socket.send("hello")
                result["text"] = await socket.recv()
                payload = bytes(range(256)) * 1024
                await socket.send(payload)
                answer = await socket.recv()
                result["binary"] = isinstance(answer, bytes) and answer == payload
                if mode == "hold":
                    print(json.dumps(result), flush=True)
                    deadline = time.monotonic() + 120
                    while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                    await socket.send("still open")
                    result["after_hold"] = await socket.recv()
                opened = time.monotonic()
                if mode in ("echo", "hold", "greet"):
                    await socket.send("close")
                try:
                    while time.monotonic() < opened + 60:
                        if mode == "chatty":
                            await socket.send("tick")
                            await asyncio.wait_for(socket.recv(), 30)
                            await asyncio.sleep(0.3)
                        else:
                            result["unexpected"] = repr(await asyncio.wait_for(socket.recv(), 60))[:200]
                    result["still_open"] = True
                except websockets.ConnectionClosed as closed:
                    result["close_code"] = closed.rcvd.code if closed.rcvd else None
                except asyncio.TimeoutError:
                    result["still_open"] = True
                result["closed_after_seconds"] = round(time.monotonic() - opened, 2)
            print(json.dumps(result), flush=True)

        asyncio.run(main())
        """#

    /// `PORT AUTHORITY`: a WebSocket handshake on a raw socket; reports the answer's status
    /// line, headers and body as they came.
    static let rawUpgrade = #"""
        import json, socket, sys

        port, authority = int(sys.argv[1]), sys.argv[2]
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall((f"GET / HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "content-length" in headers:
            while len(body) < int(headers["content-length"]):
                data = sock.recv(65536)
                if not data:
                    break
                body += data
        else:
            while data := sock.recv(65536):
                body += data
        print(json.dumps({"status_line": lines[0], "headers": headers, "body": body.decode(errors="replace")}))
        """#

    /// `PORT AUTHORITY [CASES]`: gRPC calls to grpc_ping.py's services through one channel;
    /// CASES (comma-separated, default all) of ping, stream, count, join, stream-fail, fail,
    /// deadline, grpc-timeout and sleeping. Each case reports its answer, or `{code, details}`
    /// for a non-OK status. grpc-timeout sends the header from a client that does not enforce
    /// it (h2 on a raw socket); sleeping, after the two deadline cases, reports how many Sleep
    /// calls still run once none should.
    static let grpc = #"""
        import json, queue, socket, sys, time
        import grpc
        import h2.config, h2.connection, h2.events

        port, authority = int(sys.argv[1]), sys.argv[2]
        everything = "ping,stream,count,join,stream-fail,fail,deadline,grpc-timeout,sleeping"
        cases = (sys.argv[3] if len(sys.argv) > 3 else everything).split(",")

        def encode(text):  # msg, field 1, for strings under 128 bytes
            data = text.encode()
            return b"\x0a" + bytes([len(data)]) + data if data else b""

        def decode(data):
            return data[2:].decode() if data else ""

        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.default_authority", authority)])
        grpc.channel_ready_future(channel).result(timeout=120)

        def method(kind, name):
            return getattr(channel, kind)(name, request_serializer=encode, response_deserializer=decode)

        def lockstep(call, count):
            """Sends request i+1 only once response i came back: a proxy that held either direction
            back until the other ended would hang here until the deadline."""
            outbox = queue.Queue()
            def requests():
                for _ in range(count):
                    yield outbox.get()
            outbox.put("hello-0")
            answers = []
            for answer in call(requests(), timeout=60):
                answers.append(answer.split(" ")[0])
                if len(answers) < count:
                    outbox.put(f"hello-{len(answers)}")
            return answers

        def raw_call(path, message, headers):
            """One unary call over h2 by hand: the status and grpc-status wherever they came."""
            sock = socket.create_connection(("127.0.0.1", port), timeout=20)
            connection = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
            connection.initiate_connection()
            stream = connection.get_next_available_stream_id()
            connection.send_headers(stream, [(":method", "POST"), (":path", path), (":scheme", "http"),
                                             (":authority", authority), ("content-type", "application/grpc"),
                                             ("te", "trailers")] + headers)
            body = encode(message)
            connection.send_data(stream, b"\0" + len(body).to_bytes(4, "big") + body, end_stream=True)
            sock.sendall(connection.data_to_send())
            started, answer = time.monotonic(), {}
            try:
                while data := sock.recv(65536):
                    for event in connection.receive_data(data):
                        if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                            for name, value in event.headers:
                                if name in (b":status", b"grpc-status", b"grpc-message"):
                                    answer[name.decode()] = value.decode()
                        elif isinstance(event, h2.events.StreamReset):
                            answer["reset"] = event.error_code
                        if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                            answer["seconds"] = round(time.monotonic() - started, 2)
                            return answer
                    sock.sendall(connection.data_to_send())
            except socket.timeout:
                answer["timeout"] = True
            answer["seconds"] = round(time.monotonic() - started, 2)
            return answer

        result = {}
        def attempt(name, call):
            try:
                result[name] = call()
            except grpc.RpcError as error:
                result[name] = {"code": error.code().name, "details": error.details()}

        for case in cases:
            if case == "ping":
                attempt("ping", lambda: method("unary_unary", "/ping.PingService/Ping")("hello", timeout=60))
            elif case == "stream":
                attempt("stream", lambda: lockstep(method("stream_stream", "/ping.PingService/PingStream"), 5))
            elif case == "count":
                attempt("count", lambda: list(method("unary_stream", "/skifftest.Streams/Count")("5", timeout=60)))
            elif case == "join":
                join = method("stream_unary", "/skifftest.Streams/Join")
                attempt("join", lambda: join(iter(["a", "b", "c"]), timeout=60))
            elif case == "stream-fail":
                received = []
                def collect():
                    for answer in method("unary_stream", "/skifftest.Streams/CountThenFail")("3", timeout=60):
                        received.append(answer)
                    return {"received": received}
                attempt("stream-fail", collect)
                if "code" in result["stream-fail"]:
                    result["stream-fail"]["received"] = received
            elif case == "fail":
                attempt("fail", lambda: method("unary_unary", "/skifftest.Streams/Fail")("no such thing", timeout=60))
            elif case == "deadline":
                started = time.monotonic()
                attempt("deadline", lambda: method("unary_unary", "/skifftest.Streams/Sleep")("30", timeout=1))
                result["deadline_seconds"] = round(time.monotonic() - started, 2)
            elif case == "grpc-timeout":
                result["grpc-timeout"] = raw_call("/skifftest.Streams/Sleep", "30", [("grpc-timeout", "1S")])
            elif case == "sleeping":
                sleeping = method("unary_unary", "/skifftest.Streams/Sleeping")
                started = time.monotonic()
                while sleeping("", timeout=10) != "0" and time.monotonic() < started + 10:
                    time.sleep(0.1)
                result["sleeping"] = sleeping("", timeout=10)
        print(json.dumps(result))
        """#

    /// `PORT AUTHORITY PATH`: opens a good h2c connection and GETs PATH on it, then sends each
    /// malformed HTTP/2 connection start on a connection of its own and reports the GOAWAY's
    /// error code (null without one) and whether the server closed it; then GETs PATH again on
    /// the good connection.
    static let malformedHTTP2 = #"""
        import json, socket, struct, sys
        import h2.config, h2.connection, h2.events

        port, authority, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
                  4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL",
                  9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY",
                  13: "HTTP_1_1_REQUIRED"}

        def frame(kind, flags, stream, payload):
            return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

        SETTINGS = frame(4, 0, 0, b"")
        CASES = {
            "DATA on stream 0": PREFACE + SETTINGS + frame(0, 0, 0, b"x"),
            "SETTINGS of 5 bytes": PREFACE + frame(4, 0, 0, b"\0" * 5),
            "WINDOW_UPDATE of 0": PREFACE + SETTINGS + frame(8, 0, 0, struct.pack(">I", 0)),
            "HEADERS with a bad HPACK block": PREFACE + SETTINGS + frame(1, 5, 1, b"\xff" * 6),
            "bad preface": b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + SETTINGS,
        }

        def send_garbage(data):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(data)
            received, closed = b"", False
            try:
                while chunk := sock.recv(65536):
                    received += chunk
                closed = True
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                pass
            sock.close()
            answer = {"closed": closed, "goaway": None}
            if received.startswith(b"HTTP/"):
                answer["http1"] = received.split(b"\r\n")[0].decode(errors="replace")
                return answer
            position = 0
            while position + 9 <= len(received):
                length, kind = int.from_bytes(received[position : position + 3], "big"), received[position + 3]
                payload = received[position + 9 : position + 9 + length]
                if kind == 7 and len(payload) >= 8:
                    code = int.from_bytes(payload[4:8], "big")
                    answer["goaway"] = ERRORS.get(code, str(code))
                position += 9 + length
            return answer

        class Healthy:
            def __init__(self):
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                self.connection = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
                self.connection.initiate_connection()
                self.sock.sendall(self.connection.data_to_send())

            def get(self):
                stream = self.connection.get_next_available_stream_id()
                self.connection.send_headers(
                    stream, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", authority)],
                    end_stream=True)
                self.sock.sendall(self.connection.data_to_send())
                status, body = None, b""
                while True:
                    data = self.sock.recv(65536)
                    if not data:
                        return {"status": status, "error": "connection closed"}
                    for event in self.connection.receive_data(data):
                        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                            status = int(dict(event.headers)[b":status"])
                        elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                            body += event.data
                            self.connection.acknowledge_received_data(event.flow_controlled_length, stream)
                        elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                            self.sock.sendall(self.connection.data_to_send())
                            return {"status": status, "bytes": len(body)}
                        elif isinstance(event, h2.events.ConnectionTerminated):
                            return {"status": status, "error": f"GOAWAY {event.error_code!r}"}
                    self.sock.sendall(self.connection.data_to_send())

        healthy = Healthy()
        result = {"before": healthy.get(), "cases": {name: send_garbage(data) for name, data in CASES.items()}}
        result["after"] = healthy.get()
        print(json.dumps(result))
        """#

    /// `PORT AUTHORITY MODE ID [COUNT]` against stream.py, over HTTP/1.1 or (modes h2…) h2c.
    /// `sse`, `h2sse` and `chunked` read COUNT events or parts, asking the server how many it
    /// had produced when the first arrived, and report them with the seconds between the first
    /// and the last arrival. `firehose` and `h2firehose` ask for 512 MiB and read nothing (over
    /// h2c: never reopen the flow-control window), watching the server's count of bytes written
    /// until it stays the same for 3 s (the plateau); then read 32 MiB and report the count again.
    static let streaming = #"""
        import http.client, json, socket, sys, time
        import h2.config, h2.connection, h2.events

        port, authority, mode, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

        def get(path, timeout=30):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            connection.request("GET", path, headers={"Host": authority})
            return connection, connection.getresponse()

        def progress():
            connection, response = get(f"/progress?id={name}")
            value = int(response.read())
            connection.close()
            return value

        def plateau(step=lambda: None):
            """The server's count once it stayed the same for 3 s (None if it never did in 120 s)."""
            deadline, last, steady = time.monotonic() + 120, -1, 0
            while time.monotonic() < deadline and steady < 10:
                step()
                written = progress()
                steady = steady + 1 if written == last and written > 0 else 0
                last = written
                time.sleep(0.3)
            return (last if steady >= 10 else None), last

        def resumed(last):
            """The server's count once it grew past `last`, or after 30 s."""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and progress() <= last:
                time.sleep(0.1)
            return progress()

        class H2Stream:
            """One GET on an h2c connection of its own; events are read with read()."""
            def __init__(self, path):
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                self.connection = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
                self.connection.initiate_connection()
                self.stream = self.connection.get_next_available_stream_id()
                self.connection.send_headers(self.stream, [(":method", "GET"), (":path", path), (":scheme", "http"),
                                                           (":authority", authority)], end_stream=True)
                self.sock.sendall(self.connection.data_to_send())
                self.status, self.ended, self.received, self.unacknowledged = None, False, 0, 0

            def read(self, acknowledge, timeout=30):
                """The data of the next socket read. With acknowledge, all data so far is acknowledged
                (its window reopened) first and as it comes."""
                if acknowledge and self.unacknowledged:
                    self.connection.acknowledge_received_data(self.unacknowledged, self.stream)
                    self.unacknowledged = 0
                    self.sock.sendall(self.connection.data_to_send())
                self.sock.settimeout(timeout)
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    return b""
                body = b""
                for event in self.connection.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        self.status = int(dict(event.headers)[b":status"])
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                        self.unacknowledged += event.flow_controlled_length
                    elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                        self.ended = True
                if acknowledge and self.unacknowledged:
                    self.connection.acknowledge_received_data(self.unacknowledged, self.stream)
                    self.unacknowledged = 0
                self.sock.sendall(self.connection.data_to_send())
                self.received += len(body)
                return body

        result = {}
        if mode in ("sse", "chunked"):
            total = int(sys.argv[5])
            path = (f"/sse?n={total}&interval_ms=100&id={name}" if mode == "sse"
                    else f"/chunked?parts={total}&delay_ms=100&id={name}")
            started = time.monotonic()
            connection, response = get(path, timeout=120)
            result["status"] = response.status
            result["content_type"] = response.getheader("Content-Type")
            arrivals, items = [], []
            while True:
                if mode == "sse":
                    event = []
                    while (line := response.readline()) not in (b"\n", b""):
                        event.append(line.decode().rstrip("\n"))
                    if not event:
                        break
                    items.append(event[-1])
                else:
                    line = response.readline()
                    if not line:
                        break
                    items.append(line.decode().rstrip("\n"))
                arrivals.append(time.monotonic() - started)
                if len(items) == 1:
                    result["produced_when_first_arrived"] = progress()
            connection.close()
            result["items"] = items
            result["spread_seconds"] = round(arrivals[-1] - arrivals[0], 2) if arrivals else None
        elif mode == "h2sse":
            total = int(sys.argv[5])
            client = H2Stream(f"/sse?n={total}&interval_ms=100&id={name}")
            text, arrivals = b"", []
            while not client.ended:
                body = client.read(acknowledge=True)
                if body:
                    text += body
                    arrivals.append(time.monotonic())
                    if "produced_when_first_arrived" not in result:
                        result["produced_when_first_arrived"] = progress()
            result["status"] = client.status
            result["items"] = [line for line in text.decode().split("\n") if line.startswith("data: ")]
            result["spread_seconds"] = round(arrivals[-1] - arrivals[0], 2) if arrivals else None
        elif mode == "firehose":
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(f"GET /firehose?id={name}&limit={512 << 20} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            result["plateau"], result["last"] = plateau()
            sock.settimeout(30)
            drained = 0
            while drained < 32 << 20:
                data = sock.recv(1 << 20)
                if not data:
                    break
                drained += len(data)
            result["drained"] = drained
            result["after_draining"] = resumed(result["last"])
            sock.close()
        elif mode == "h2firehose":
            # Reads what arrives but never reopens the window: flow control alone must stop the producer.
            client = H2Stream(f"/firehose?id={name}&limit={512 << 20}")
            result["plateau"], result["last"] = plateau(lambda: client.read(acknowledge=False, timeout=0.05))
            result["received_before_draining"] = client.received
            while client.received < 32 << 20 and not client.ended:
                if not client.read(acknowledge=True):
                    break
            result["drained"] = client.received
            result["after_draining"] = resumed(result["last"])
            client.sock.close()
        print(json.dumps(result))
        """#
}
