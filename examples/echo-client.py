#!/usr/bin/python3
# echo-client.py: the draft's Figure 2 client in Python, through the
# Post-1 typelib (PyGObject: Debian's python3-gi, run with /usr/bin/python3)
#
#   echo-client.py [URI [TEXT]]     (default tcp://127.0.0.1:7000 Hello!)
#
# Sends TEXT as one message, prints the reply and exits 0; a bad URI, an
# establishment that fails or takes more than 5 s, a carrier that fails
# and no reply within 10 s each end it with a message on stderr and exit 1.
# From a build tree: meson devenv -C _build -w . python3 examples/echo-client.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import sys

import gi
gi.require_version('GLib', '2.0')
gi.require_version('Post', '1')
from gi.repository import GLib, Post  # noqa: E402


def main(argv):
    uri = argv[1] if len(argv) > 1 else 'tcp://127.0.0.1:7000'
    text = argv[2] if len(argv) > 2 else 'Hello!'
    loop = GLib.MainLoop()
    status = 1

    def fail(message):
        print(f'echo-client.py: {message}', file=sys.stderr)
        loop.quit()

    try:
        remote = Post.Remote.new_from_uri(uri)
    except GLib.Error as e:
        fail(e.message)
        return 1
    configuration = Post.Configuration.new()
    configuration.set_conn_timeout(5000)                # ms
    carrier = Post.Carrier.initiate(None, remote, configuration)

    def on_received(c, result, user_data):
        nonlocal status
        try:
            message = c.receive_finish(result)
        except GLib.Error as e:                          # POST_ERROR: e.matches(Post.error_quark(), …)
            fail(e.message)
            return
        print(message.get_content().get_data().decode('utf-8', 'replace'))
        status = 0
        c.close()
        loop.quit()

    def on_timeout():
        fail('no reply within 10 s')
        return GLib.SOURCE_REMOVE

    carrier.send(Post.Message.new_from_string(text))    # queued until ACTIVE
    carrier.receive_async(None, on_received, None)      # fails with the establishment's error
    GLib.timeout_add_seconds(10, on_timeout)
    loop.run()
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv))
