#!/usr/bin/python3
# websocket-peer.py: a python3-websockets peer for test-websocket.
#
#   websocket-peer.py server   an echo server on a free loopback port: prints
#                              "port N", pings each client first (its pong must
#                              come before any echo), echoes every message,
#                              and prints "closed CODE REASON" when the client
#                              has closed.
#   websocket-peer.py server CERT KEY
#                              the same over TLS (wss://) with that
#                              certificate and key (PEM)
#   websocket-peer.py client PORT
#                              sends a text and a binary message to
#                              ws://127.0.0.1:PORT/, prints each echo
#                              ("text ..." / "binary HEX") and then the close
#                              code and reason the server closed with.
#   websocket-peer.py client PORT CA
#                              the same to wss://localhost:PORT/, trusting the
#                              CA certificate CA (PEM) alone: the server's
#                              certificate and its name are verified.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import asyncio
import ssl
import sys

import websockets


async def echo(ws, path=None):
    pong = await ws.ping(b"from-python")
    try:
        await asyncio.wait_for(pong, 10)
    except asyncio.TimeoutError:
        await ws.close(4002, "no pong")
        return
    async for message in ws:
        await ws.send(message)
    print("closed %s %s" % (ws.close_code, ws.close_reason), flush=True)


async def server(tls=None):
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=tls) as srv:
        port = srv.sockets[0].getsockname()[1]
        print("port %d" % port, flush=True)
        await asyncio.Future()


async def client(port, ca=None):
    uri = "ws://127.0.0.1:%d/chat" % port
    context = None
    if ca is not None:
        uri = "wss://localhost:%d/chat" % port
        context = ssl.create_default_context(cafile=ca)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    async with websockets.connect(uri, ssl=context) as ws:
        await ws.send("h\u00e9llo, world")
        print("text %s" % await ws.recv(), flush=True)
        await ws.send(bytes([0, 1, 2, 255]))
        print("binary %s" % (await ws.recv()).hex(), flush=True)
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
        print("closed %s %s" % (ws.close_code, ws.close_reason), flush=True)


if sys.argv[1] == "server" and len(sys.argv) == 4:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    asyncio.run(server(context))
elif sys.argv[1] == "server":
    asyncio.run(server())
else:
    asyncio.run(client(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
