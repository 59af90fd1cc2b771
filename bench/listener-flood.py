#!/usr/bin/python3
# listener-flood.py: the attacks of bench/listener-rss.sh on a listener at
# 127.0.0.1:PORT, then whether a real peer from another address is served.
#
#   listener-flood.py udp PORT N    N datagrams, each from its own source
#                                   address in 127.0.0.0/8 (spoofed-ish)
#   listener-flood.py tcp PORT N    N connections that never send a byte
#   listener-flood.py tls PORT N    the same, to a tls listener (no ClientHello)
#   listener-flood.py quic PORT N CA
#                                   N quic connections from 127.0.0.1,
#                                   established (libpost through
#                                   introspection: GI_TYPELIB_PATH), held open
#
#   listener-flood.py probe-quic PORT CA
#                                   one quic carrier from 127.0.0.2: prints
#                                   yes if its message is echoed within 10 s
#
# It prints "attack: ..." once the attack is in place, then holds it (the
# sockets and connections stay open) until stdin closes.  The caller reads
# the listener's memory meanwhile.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import resource
import socket
import sys
import time


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def udp(port, n):
    sent = 0
    for i in range(n):
        # 127.1.0.1, 127.1.0.2, …: a new source address each time
        a = 1 + i // 65025
        b = (i // 255) % 255
        c = 1 + i % 255
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.%d.%d.%d' % (a, b, c), 0))
        s.sendto(b'x', ('127.0.0.1', port))
        s.close()
        sent += 1
        # Paced so that the listener's socket buffer does not overflow (a
        # dropped datagram would be a source that costs nothing)
        if i % 16 == 15:
            time.sleep(0.01)
    return [], 'udp: %d datagrams from %d source addresses' % (sent, sent)


def silent(port, n):
    raise_fd_limit()
    held = []
    refused = 0
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
            s.close()
            continue
        held.append(s)
        # Paced so that the listener's backlog (128) is not overrun: beyond
        # it SYNs are dropped or answered with syncookies, and those
        # connections never reach the listener
        if i % 32 == 31:
            time.sleep(0.02)
    time.sleep(1)
    return held, 'silent: %d connections opened (%d failed at once)' % (len(held), refused)


def quic(port, n, ca):
    import gi
    gi.require_version('GLib', '2.0')
    gi.require_version('Post', '1')
    from gi.repository import GLib, Post

    raise_fd_limit()
    config = Post.Configuration.new()
    config.set_use_system_trust(False)
    config.add_trust_anchor_file(ca)
    remote = Post.Remote.new_from_uri('quic://127.0.0.1:%d' % port)
    state = {'ok': 0, 'failed': 0, 'errors': {}}
    carriers = []
    context = GLib.MainContext.default()

    def done(carrier, result, _data):
        try:
            carrier.establish_finish(result)
            state['ok'] += 1
        except GLib.Error as e:
            state['failed'] += 1
            key = e.message.split(':')[0][:60]
            state['errors'][key] = state['errors'].get(key, 0) + 1

    # In waves of 50, so that the handshakes do not all time out together
    for start in range(0, n, 50):
        for i in range(start, min(n, start + 50)):
            carrier = Post.Carrier.initiate(None, remote, config)
            carriers.append(carrier)
            carrier.establish_async(None, done, None)
        deadline = time.monotonic() + 30
        while state['ok'] + state['failed'] < min(n, start + 50) and time.monotonic() < deadline:
            context.iteration(True)
    return carriers, 'quic: %d connections established from 127.0.0.1, %d failed %s' % (
        state['ok'], state['failed'], dict(state['errors']))


def probe_quic(port, ca):
    import gi
    gi.require_version('GLib', '2.0')
    gi.require_version('Post', '1')
    from gi.repository import GLib, Post

    config = Post.Configuration.new()
    config.set_use_system_trust(False)
    config.add_trust_anchor_file(ca)
    local = Post.Local.new_from_uri('quic://127.0.0.2:0')
    remote = Post.Remote.new_from_uri('quic://127.0.0.1:%d' % port)
    carrier = Post.Carrier.initiate(local, remote, config)
    got = []

    def on_message(c, message, *args):
        got.append(message.get_content().get_data())
        return True
    carrier.ready(on_message, None)
    carrier.send(Post.Message.new_from_string('real-peer'))
    context = GLib.MainContext.default()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        context.iteration(False)
        time.sleep(0.01)
    print('yes' if got == [b'real-peer'] else 'no')


def main():
    if sys.argv[1] == 'probe-quic':
        probe_quic(int(sys.argv[2]), sys.argv[3])
        return
    kind, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind == 'udp':
        held, what = udp(port, n)
    elif kind in ('tcp', 'tls'):
        held, what = silent(port, n)
    elif kind == 'quic':
        held, what = quic(port, n, sys.argv[4])
    else:
        sys.exit('unknown attack %s' % kind)
    print('attack: ' + what, flush=True)
    sys.stdin.read()
    del held


if __name__ == '__main__':
    main()
