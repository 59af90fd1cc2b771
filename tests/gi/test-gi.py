#!/usr/bin/python3
# test-gi.py: libpost from Python through introspection (PyGObject).
#
# Run by meson test (suite gi) with GI_TYPELIB_PATH and LD_LIBRARY_PATH
# pointing at the build tree's Post-1.typelib and libpost, and the build
# tree's plugins; always with Debian's /usr/bin/python3 (python3-gi), never
# another python3 earlier on PATH.  Real carriers on loopback: an echo over
# tcp, tls with a trust anchor made by certtool, a udp responder, a partial
# receive, the error domain and its codes, cancellation.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import gi
gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Post', '1')
from gi.repository import GLib, Gio, Post  # noqa: E402

TIMEOUT_S = 20


class Loop:
    """A main loop run until done() or a time-out (which fails the test)."""

    def __init__(self, test):
        self.test = test
        self.loop = GLib.MainLoop()
        self.timed_out = False

    def run(self):
        def on_timeout():
            self.timed_out = True
            self.loop.quit()
            return GLib.SOURCE_REMOVE
        source = GLib.timeout_add_seconds(TIMEOUT_S, on_timeout)
        self.loop.run()
        if not self.timed_out:
            GLib.source_remove(source)
        self.test.assertFalse(self.timed_out, 'the main loop timed out')

    def done(self):
        self.loop.quit()


def port_of(listener):
    return listener.get_local_address().get_port()


def listen(test, uri, configuration=None):
    local = Post.Local.new_from_uri(uri)
    listener = Post.Carrier.listen(local, configuration)
    test.addCleanup(listener.close)
    return listener


def echo_incoming(listener, carrier):
    """An echo server: every message received is sent back."""
    def on_received(c, result, _data):
        try:
            message = c.receive_finish(result)
        except GLib.Error:
            return
        c.send(Post.Message.new(message.get_content()))
        c.receive_async(None, on_received, None)
    carrier.receive_async(None, on_received, None)
    listener.echoed = getattr(listener, 'echoed', []) + [carrier]
    return True


def make_certificates(directory):
    """A CA and a server certificate for localhost and 127.0.0.1 (certtool)."""
    def certtool(*args):
        subprocess.run(['certtool'] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ca_tmpl = os.path.join(directory, 'ca.tmpl')
    with open(ca_tmpl, 'w') as f:
        f.write('cn = "libpost gi test CA"\nca\ncert_signing_key\nexpiration_days = 2\n')
    server_tmpl = os.path.join(directory, 'server.tmpl')
    with open(server_tmpl, 'w') as f:
        f.write('cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'
                'tls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n')
    paths = {n: os.path.join(directory, n) for n in
             ('ca.key', 'ca.pem', 'server.key', 'server.pem')}
    certtool('--generate-privkey', '--key-type=ecdsa', '--outfile', paths['ca.key'])
    certtool('--generate-self-signed', '--load-privkey', paths['ca.key'],
             '--template', ca_tmpl, '--outfile', paths['ca.pem'])
    certtool('--generate-privkey', '--key-type=ecdsa', '--outfile', paths['server.key'])
    certtool('--generate-certificate', '--load-privkey', paths['server.key'],
             '--load-ca-certificate', paths['ca.pem'], '--load-ca-privkey', paths['ca.key'],
             '--template', server_tmpl, '--outfile', paths['server.pem'])
    return paths


class TestPost(unittest.TestCase):

    def echo_once(self, scheme, text, configuration=None, listener=None):
        """Sends text over a new carrier to an echo listener; returns the echo."""
        if listener is None:
            listener = listen(self, scheme + '://127.0.0.1:0')
            listener.connect('incoming', echo_incoming)
        remote = Post.Remote.new_from_uri('%s://127.0.0.1:%d' % (scheme, port_of(listener)))
        carrier = Post.Carrier.initiate(None, remote, configuration)
        self.addCleanup(carrier.abort)
        loop = Loop(self)
        got = {}

        def on_received(c, result, _data):
            try:
                got['message'] = c.receive_finish(result)
            except GLib.Error as e:
                got['error'] = e
            loop.done()
        self.assertTrue(carrier.send(Post.Message.new_from_string(text)))
        carrier.receive_async(None, on_received, None)
        loop.run()
        self.assertNotIn('error', got)
        self.assertEqual(carrier.get_stack_name(), scheme)
        return got['message']

    def test_echo_tcp(self):
        message = self.echo_once('tcp', 'Hello from Python')
        self.assertEqual(message.get_content().get_data(), b'Hello from Python')
        self.assertTrue(message.is_complete())

    def test_tls_trust_anchor(self):
        directory = tempfile.mkdtemp(prefix='post-gi-')
        self.addCleanup(shutil.rmtree, directory)
        paths = make_certificates(directory)
        server_local = Post.Local.new_from_uri('tls://127.0.0.1:0')
        server_local.set_identity_from_files(paths['server.pem'], paths['server.key'])
        listener = Post.Carrier.listen(server_local, None)
        self.addCleanup(listener.close)
        listener.connect('incoming', echo_incoming)

        trusting = Post.Configuration.new()
        trusting.set_use_system_trust(False)
        trusting.add_trust_anchor_file(paths['ca.pem'])
        message = self.echo_once('tls', 'secret', trusting, listener)
        self.assertEqual(message.get_content().get_data(), b'secret')

        # Without the anchor the server is not trusted: the carrier says why
        remote = Post.Remote.new_from_uri('tls://127.0.0.1:%d' % port_of(listener))
        untrusting = Post.Configuration.new()
        untrusting.set_use_system_trust(False)
        carrier = Post.Carrier.initiate(None, remote, untrusting)
        self.addCleanup(carrier.abort)
        loop = Loop(self)
        got = {}

        def on_established(c, result, _data):
            try:
                c.establish_finish(result)
            except GLib.Error as e:
                got['error'] = e
            loop.done()
        carrier.establish_async(None, on_established, None)
        loop.run()
        self.assertIn('error', got)
        self.assertTrue(got['error'].matches(Post.error_quark(),
                                             Post.Error.TLS_UNKNOWN_AUTHORITY),
                        got['error'].message)

    def test_udp_responder(self):
        seen = []

        def respond(responder, message, reply, _data=None):
            seen.append(reply.get_remote_address().get_port())
            reply.send(Post.Message.new_from_string(
                message.get_content().get_data().decode().upper()))
        local = Post.Local.new_from_uri('udp://127.0.0.1:0')
        responder = Post.Carrier.respond(local, None, respond)
        self.addCleanup(responder.close)
        message = self.echo_once('udp', 'shout', None, responder)
        self.assertEqual(message.get_content().get_data(), b'SHOUT')
        self.assertEqual(len(seen), 1)

    def test_partial_receive(self):
        listener = listen(self, 'tcp://127.0.0.1:0')
        listener.connect('incoming', echo_incoming)
        remote = Post.Remote.new_from_uri('tcp://127.0.0.1:%d' % port_of(listener))
        carrier = Post.Carrier.initiate(None, remote, None)
        self.addCleanup(carrier.abort)
        payload = bytes(range(256)) * 1024          # 256 KiB, one message
        parts = []
        loop = Loop(self)

        def on_part(c, result, _data):
            data, message, end = c.receive_partial_finish(result)
            parts.append(data.get_data())
            self.assertIsInstance(message, Post.Message)
            if end:
                loop.done()
            else:
                c.receive_partial_async(1, 4096, None, on_part, None)
        carrier.send(Post.Message.new(GLib.Bytes.new(payload)))
        carrier.receive_partial_async(1, 4096, None, on_part, None)
        loop.run()
        self.assertEqual(b''.join(parts), payload)
        self.assertGreater(len(parts), 1)
        self.assertTrue(all(len(p) <= 4096 for p in parts))

    def test_error_domain(self):
        self.assertEqual(GLib.quark_to_string(Post.error_quark()), 'post-error-quark')
        self.assertEqual(Post.Error.CONNECTION_REFUSED.value_nick, 'connection-refused')
        with self.assertRaises(GLib.Error) as raised:
            Post.Remote.new_from_uri('tcp://evil%0aInjected:80')
        self.assertTrue(raised.exception.matches(Post.error_quark(),
                                                 Post.Error.INVALID_ARGUMENT))

        # A closed carrier refuses to send, with POST_ERROR_CLOSED
        remote = Post.Remote.new_from_uri('tcp://127.0.0.1:9')
        carrier = Post.Carrier.initiate(None, remote, None)
        carrier.abort()
        with self.assertRaises(GLib.Error) as raised:
            carrier.send(Post.Message.new_from_string('late'))
        self.assertTrue(raised.exception.matches(Post.error_quark(), Post.Error.CLOSED))

    def test_cancellation(self):
        listener = listen(self, 'tcp://127.0.0.1:0')
        listener.connect('incoming', echo_incoming)
        remote = Post.Remote.new_from_uri('tcp://127.0.0.1:%d' % port_of(listener))
        carrier = Post.Carrier.initiate(None, remote, None)
        self.addCleanup(carrier.abort)
        cancellable = Gio.Cancellable()
        # Established first: the state checked below must not depend on
        # how long establishment takes
        established = Loop(self)

        def on_established(c, result, _data):
            c.establish_finish(result)
            established.done()
        carrier.establish_async(None, on_established, None)
        established.run()
        loop = Loop(self)
        got = {}

        def on_received(c, result, _data):
            try:
                c.receive_finish(result)
            except GLib.Error as e:
                got['error'] = e
            loop.done()
        # Nothing is sent, so only the cancellation can end this receive
        carrier.receive_async(cancellable, on_received, None)
        GLib.timeout_add(50, lambda: cancellable.cancel() or GLib.SOURCE_REMOVE)
        loop.run()
        self.assertTrue(got['error'].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED))
        # The carrier is still usable
        self.assertEqual(carrier.get_state(), Post.CarrierState.ACTIVE)
        message = self.echo_once('tcp', 'after cancel', None, listener)
        self.assertEqual(message.get_content().get_data(), b'after cancel')


if __name__ == '__main__':
    if shutil.which('certtool') is None:
        sys.exit('certtool (gnutls-bin) is needed')
    unittest.main(verbosity=2)
