"""A gRPC server over h2c (cleartext HTTP/2) on $PORT, with Debian's python3-grpcio.

It implements Knative's grpc-ping-go sample (code-samples/serving/grpc-ping-go in
knative/docs), whose proto is:

    package ping;
    service PingService {
      rpc Ping(Request) returns (Response);
      rpc PingStream(stream Request) returns (stream Response);
    }
    message Request { string msg = 1; }
    message Response { string msg = 1; }

and, for the tests, a second service `skifftest.Streams` on the same messages:

    rpc Count(Request) returns (stream Response);          // msg "N": the responses "1" … "N"
    rpc CountThenFail(Request) returns (stream Response);  // the same, then NOT_FOUND "after N"
    rpc Join(stream Request) returns (Response);           // the requests' msgs joined by ","
    rpc Sleep(Request) returns (Response);                 // sleeps msg seconds, then "slept"
    rpc Sleeping(Request) returns (Response);              // how many Sleep calls run now
    rpc Fail(Request) returns (Response);                  // NOT_FOUND with msg as its message

A Sleep ends early when its call ends (a deadline, a cancel), so Sleeping shows whether a
proxy passed the cancel on.

There is no protoc: both messages are one string field, encoded here by hand.
"""

import datetime
import os
import signal
import threading
import time
from concurrent import futures

import grpc


def encode(text):
    """A Request or Response: field 1 (wire type 2, length-delimited), omitted when empty."""
    data = text.encode()
    if not data:
        return b""
    length = bytearray()
    n = len(data)
    while True:
        if n < 0x80:
            length.append(n)
            break
        length.append(n & 0x7F | 0x80)
        n >>= 7
    return b"\x0a" + bytes(length) + data


def decode(data):
    """The msg of a Request or Response; unknown fields are skipped, as protobuf does."""
    position, text = 0, ""

    def varint():
        nonlocal position
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while position < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        elif wire == 2:
            length = varint()
            if field == 1:
                text = data[position : position + length].decode()
            position += length
        else:
            raise ValueError(f"wire type {wire} is not supported")
    return text


def ping(request, context):
    return f"{request} - pong"


def ping_stream(requests, context):
    for request in requests:
        print(f"Replying to ping {request} at {datetime.datetime.now()}", flush=True)
        yield f"pong {datetime.datetime.now()}"
    print("Client disconnected", flush=True)


def count(request, context):
    for number in range(1, int(request) + 1):
        yield str(number)


def count_then_fail(request, context):
    yield from count(request, context)
    context.abort(grpc.StatusCode.NOT_FOUND, f"after {request}")


def join(requests, context):
    return ",".join(requests)


sleepers = 0
sleepers_lock = threading.Lock()


def sleep(request, context):
    global sleepers
    with sleepers_lock:
        sleepers += 1
    try:
        deadline = time.monotonic() + float(request)
        while time.monotonic() < deadline and context.is_active():
            time.sleep(0.05)
    finally:
        with sleepers_lock:
            sleepers -= 1
    return "slept"


def sleeping(request, context):
    with sleepers_lock:
        return str(sleepers)


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, request)


def handlers(service, methods):
    return grpc.method_handlers_generic_handler(
        service,
        {
            name: kind(function, request_deserializer=decode, response_serializer=encode)
            for name, (kind, function) in methods.items()
        },
    )


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers(
        (
            handlers(
                "ping.PingService",
                {
                    "Ping": (grpc.unary_unary_rpc_method_handler, ping),
                    "PingStream": (grpc.stream_stream_rpc_method_handler, ping_stream),
                },
            ),
            handlers(
                "skifftest.Streams",
                {
                    "Count": (grpc.unary_stream_rpc_method_handler, count),
                    "CountThenFail": (grpc.unary_stream_rpc_method_handler, count_then_fail),
                    "Join": (grpc.stream_unary_rpc_method_handler, join),
                    "Sleep": (grpc.unary_unary_rpc_method_handler, sleep),
                    "Sleeping": (grpc.unary_unary_rpc_method_handler, sleeping),
                    "Fail": (grpc.unary_unary_rpc_method_handler, fail),
                },
            ),
        )
    )
    server.add_insecure_port(f"0.0.0.0:{port}")
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=5))
    print(f"grpc_ping: serving gRPC (h2c) on port {port}", flush=True)
    server.wait_for_termination()
    print("grpc_ping: stopped on SIGTERM", flush=True)


if __name__ == "__main__":
    main()
