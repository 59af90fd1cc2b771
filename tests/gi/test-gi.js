// test-gi.js: libpost from JavaScript through introspection (GJS).
//
// Run by meson test (suite gi) with gjs, GI_TYPELIB_PATH and LD_LIBRARY_PATH
// pointing at the build tree, and the build tree's plugins.  The same cases
// as test-gi.py: an echo over tcp, tls with a trust anchor made by
// certtool, a udp responder, a partial receive, the error domain and its
// codes, cancellation.  Exits 1 if any case fails.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Post = '1';
const {GLib, Gio, Post} = imports.gi;

const TIMEOUT_S = 20;

function assert(condition, what) {
    if (!condition)
        throw new Error(`assertion failed: ${what}`);
}

// A GLib.Bytes or a Uint8Array as text
function decode(bytes) {
    return new TextDecoder().decode(bytes instanceof Uint8Array ? bytes : bytes.toArray());
}

// Runs a main loop until done() is called; a time-out fails the case
function runLoop(start) {
    const loop = new GLib.MainLoop(null, false);
    let timedOut = false, failure = null;
    const done = () => loop.quit();
    const fail = e => { failure = e; loop.quit(); };
    const id = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, TIMEOUT_S, () => {
        timedOut = true;
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    try {
        start(done, fail);
    } catch (e) {
        GLib.source_remove(id);
        throw e;
    }
    loop.run();
    if (!timedOut)
        GLib.source_remove(id);
    if (failure)
        throw failure;
    assert(!timedOut, 'the main loop timed out');
}

function echoIncoming(listener, carrier) {
    const onReceived = (c, result) => {
        let message;
        try {
            message = c.receive_finish(result);
        } catch (e) {
            return;
        }
        c.send(Post.Message.new(message.get_content()));
        c.receive_async(null, onReceived);
    };
    carrier.receive_async(null, onReceived);
    return true;
}

function listenEcho(uri, local) {
    const listener = Post.Carrier.listen(local ?? Post.Local.new_from_uri(uri), null);
    listener.connect('incoming', echoIncoming);
    return listener;
}

function portOf(listener) {
    return listener.get_local_address().get_port();
}

// Sends text to an echo listener over a new carrier; returns [carrier, echo]
function echoOnce(scheme, text, configuration, listener) {
    const remote = Post.Remote.new_from_uri(`${scheme}://127.0.0.1:${portOf(listener)}`);
    const carrier = Post.Carrier.initiate(null, remote, configuration);
    let message = null;
    runLoop((done, fail) => {
        carrier.send(Post.Message.new_from_string(text));
        carrier.receive_async(null, (c, result) => {
            try {
                message = c.receive_finish(result);
                done();
            } catch (e) {
                fail(e);
            }
        });
    });
    assert(carrier.get_stack_name() === scheme, `stack ${carrier.get_stack_name()}`);
    return [carrier, message];
}

function certtool(...args) {
    const [ok, , stderr, status] = GLib.spawn_sync(null, ['certtool', ...args], null,
        GLib.SpawnFlags.SEARCH_PATH, null);
    assert(ok && status === 0, `certtool ${args.join(' ')}: ${decode(stderr)}`);
}

function makeCertificates(dir) {
    const p = name => GLib.build_filenamev([dir, name]);
    GLib.file_set_contents(p('ca.tmpl'),
        'cn = "libpost gjs test CA"\nca\ncert_signing_key\nexpiration_days = 2\n');
    GLib.file_set_contents(p('server.tmpl'),
        'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n' +
        'tls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n');
    certtool('--generate-privkey', '--key-type=ecdsa', '--outfile', p('ca.key'));
    certtool('--generate-self-signed', '--load-privkey', p('ca.key'),
        '--template', p('ca.tmpl'), '--outfile', p('ca.pem'));
    certtool('--generate-privkey', '--key-type=ecdsa', '--outfile', p('server.key'));
    certtool('--generate-certificate', '--load-privkey', p('server.key'),
        '--load-ca-certificate', p('ca.pem'), '--load-ca-privkey', p('ca.key'),
        '--template', p('server.tmpl'), '--outfile', p('server.pem'));
    return p;
}

const cases = {
    'echo-tcp'() {
        const listener = listenEcho('tcp://127.0.0.1:0');
        const [carrier, message] = echoOnce('tcp', 'Hello from GJS', null, listener);
        assert(decode(message.get_content()) === 'Hello from GJS', 'echo');
        assert(message.is_complete(), 'complete');
        carrier.abort();
        listener.close();
    },

    'tls-trust-anchor'() {
        const dir = GLib.dir_make_tmp('post-gjs-XXXXXX');
        try {
            const p = makeCertificates(dir);
            const local = Post.Local.new_from_uri('tls://127.0.0.1:0');
            local.set_identity_from_files(p('server.pem'), p('server.key'));
            const listener = listenEcho(null, local);

            const trusting = Post.Configuration.new();
            trusting.set_use_system_trust(false);
            trusting.add_trust_anchor_file(p('ca.pem'));
            const [carrier, message] = echoOnce('tls', 'secret', trusting, listener);
            assert(decode(message.get_content()) === 'secret', 'tls echo');
            carrier.abort();

            const untrusting = Post.Configuration.new();
            untrusting.set_use_system_trust(false);
            const remote = Post.Remote.new_from_uri(`tls://127.0.0.1:${portOf(listener)}`);
            const refused = Post.Carrier.initiate(null, remote, untrusting);
            let error = null;
            runLoop(done => {
                refused.establish_async(null, (c, result) => {
                    try {
                        c.establish_finish(result);
                    } catch (e) {
                        error = e;
                    }
                    done();
                });
            });
            assert(error !== null, 'an untrusted server is refused');
            assert(error.matches(Post.error_quark(), Post.Error.TLS_UNKNOWN_AUTHORITY),
                `error ${error}`);
            refused.abort();
            listener.close();
            for (const f of ['ca.key', 'ca.pem', 'ca.tmpl', 'server.key', 'server.pem', 'server.tmpl'])
                GLib.unlink(p(f));
        } finally {
            GLib.rmdir(dir);
        }
    },

    'udp-responder'() {
        let seen = 0;
        const responder = Post.Carrier.respond(Post.Local.new_from_uri('udp://127.0.0.1:0'), null,
            (r, message, reply) => {
                seen++;
                reply.send(Post.Message.new_from_string(decode(message.get_content()).toUpperCase()));
            });
        const [carrier, message] = echoOnce('udp', 'shout', null, responder);
        assert(decode(message.get_content()) === 'SHOUT', 'reply');
        assert(seen === 1, `seen ${seen}`);
        carrier.abort();
        responder.close();
    },

    'partial-receive'() {
        const listener = listenEcho('tcp://127.0.0.1:0');
        const remote = Post.Remote.new_from_uri(`tcp://127.0.0.1:${portOf(listener)}`);
        const carrier = Post.Carrier.initiate(null, remote, null);
        const payload = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
        const parts = [];
        runLoop((done, fail) => {
            const onPart = (c, result) => {
                try {
                    const [data, message, end] = c.receive_partial_finish(result);
                    assert(message instanceof Post.Message, 'the part names its message');
                    parts.push(data.toArray());
                    if (end)
                        done();
                    else
                        c.receive_partial_async(1, 4096, null, onPart);
                } catch (e) {
                    fail(e);
                }
            };
            carrier.send(Post.Message.new(new GLib.Bytes(payload)));
            carrier.receive_partial_async(1, 4096, null, onPart);
        });
        assert(parts.length > 1, `${parts.length} parts`);
        assert(parts.every(part => part.length <= 4096), 'parts within max');
        const joined = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
        let at = 0;
        for (const part of parts) {
            joined.set(part, at);
            at += part.length;
        }
        assert(joined.length === payload.length && joined.every((b, i) => b === payload[i]),
            'the parts make the message');
        carrier.abort();
        listener.close();
    },

    'error-domain'() {
        assert(GLib.quark_to_string(Post.error_quark()) === 'post-error-quark', 'domain');
        let error = null;
        try {
            Post.Remote.new_from_uri('tcp://evil%0aInjected:80');
        } catch (e) {
            error = e;
        }
        assert(error?.matches(Post.error_quark(), Post.Error.INVALID_ARGUMENT), `bad URI: ${error}`);

        const carrier = Post.Carrier.initiate(null, Post.Remote.new_from_uri('tcp://127.0.0.1:9'), null);
        carrier.abort();
        error = null;
        try {
            carrier.send(Post.Message.new_from_string('late'));
        } catch (e) {
            error = e;
        }
        assert(error?.matches(Post.error_quark(), Post.Error.CLOSED), `send after close: ${error}`);
    },

    'cancellation'() {
        const listener = listenEcho('tcp://127.0.0.1:0');
        const remote = Post.Remote.new_from_uri(`tcp://127.0.0.1:${portOf(listener)}`);
        const carrier = Post.Carrier.initiate(null, remote, null);
        const cancellable = new Gio.Cancellable();
        let error = null;
        // Established first: the state checked below must not depend on
        // how long establishment takes
        runLoop(done => {
            carrier.establish_async(null, (c, result) => {
                c.establish_finish(result);
                done();
            });
        });
        runLoop(done => {
            carrier.receive_async(cancellable, (c, result) => {
                try {
                    c.receive_finish(result);
                } catch (e) {
                    error = e;
                }
                done();
            });
            GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => {
                cancellable.cancel();
                return GLib.SOURCE_REMOVE;
            });
        });
        assert(error?.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED), `error ${error}`);
        assert(carrier.get_state() === Post.CarrierState.ACTIVE, 'still active');
        const [again, message] = echoOnce('tcp', 'after cancel', null, listener);
        assert(decode(message.get_content()) === 'after cancel', 'usable after cancel');
        again.abort();
        carrier.abort();
        listener.close();
    },
};

let failed = 0;
for (const [name, run] of Object.entries(cases)) {
    try {
        run();
        print(`ok - ${name}`);
    } catch (e) {
        failed++;
        print(`not ok - ${name}: ${e}\n${e.stack ?? ''}`);
    }
}
print(`1..${Object.keys(cases).length}`);
imports.system.exit(failed ? 1 : 0);
