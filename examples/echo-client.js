#!/usr/bin/gjs
// echo-client.js: the draft's Figure 2 client in JavaScript, through the
// Post-1 typelib (GJS: Debian's gjs)
//
//   gjs echo-client.js [URI [TEXT]]     (default tcp://127.0.0.1:7000 Hello!)
//
// Sends TEXT as one message, prints the reply and exits 0; a bad URI, an
// establishment that fails or takes more than 5 s, a carrier that fails
// and no reply within 10 s each end it with a message on stderr and exit 1.
// From a build tree: meson devenv -C _build -w . gjs examples/echo-client.js
//
// SPDX-License-Identifier: LGPL-2.1-or-later
imports.gi.versions.GLib = '2.0';
imports.gi.versions.Post = '1';
const {GLib, Post} = imports.gi;
const System = imports.system;

const uri = ARGV[0] ?? 'tcp://127.0.0.1:7000';
const text = ARGV[1] ?? 'Hello!';
const loop = new GLib.MainLoop(null, false);
let status = 1;

function fail(message) {
    printerr(`echo-client.js: ${message}`);
    loop.quit();
}

function main() {
    let remote;
    try {
        remote = Post.Remote.new_from_uri(uri);
    } catch (e) {
        printerr(`echo-client.js: ${e.message}`);
        return 1;
    }
    const configuration = Post.Configuration.new();
    configuration.set_conn_timeout(5000);                   // ms
    const carrier = Post.Carrier.initiate(null, remote, configuration);

    carrier.send(Post.Message.new_from_string(text));       // queued until ACTIVE
    carrier.receive_async(null, (c, result) => {            // fails with the establishment's error
        let message;
        try {
            message = c.receive_finish(result);
        } catch (e) {                                       // e.matches(Post.error_quark(), …)
            fail(e.message);
            return;
        }
        print(new TextDecoder().decode(message.get_content().get_data()));
        status = 0;
        c.close();
        loop.quit();
    });
    GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, 10, () => {
        fail('no reply within 10 s');
        return GLib.SOURCE_REMOVE;
    });
    loop.run();
    return status;
}

System.exit(main());
