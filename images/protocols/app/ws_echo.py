"""A WebSocket echo server on $PORT (HTTP/1.1 Upgrade), with Debian's python3-websockets.

- Text and binary messages come back unchanged, as the same kind of frame.
- The text message "close" makes the server close the socket with code 1000.
- On the path /greet the server speaks first: "welcome", before the client sends anything.
- A request that does not ask for an upgrade (a plain GET, a probe) gets 200 "ok".
"""

import asyncio
import http
import os
import signal

import websockets


async def echo(socket):
    try:
        if socket.path == "/greet":
            await socket.send("welcome")
        async for message in socket:
            if message == "close":
                await socket.close(code=1000, reason="closed on request")
                return
            await socket.send(message)
    except websockets.ConnectionClosed:
        pass  # The peer went without a close frame (a proxy's timeout, a killed client).


async def answer_plain_requests(path, headers):
    """Returning a response here answers without upgrading; None goes on with the handshake."""
    if headers.get("Upgrade", "").lower() != "websocket":
        return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"ok\n"
    return None


async def main():
    port = int(os.environ.get("PORT", "8080"))
    stopping = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set_result, None)
    # max_size None: the tests send binary messages of any size.
    async with websockets.serve(echo, "0.0.0.0", port, process_request=answer_plain_requests, max_size=None):
        print(f"ws_echo: serving WebSockets on port {port}", flush=True)
        await stopping
    print("ws_echo: stopped on SIGTERM", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
