// test-vala-echo.vala: an echo over tcp from Vala, through post-1.vapi (suite gi)
int main () {
    var loop = new MainLoop ();
    string? echoed = null;
    var accepted = new GenericArray<Post.Carrier> ();
    try {
        var listener = Post.Carrier.listen (new Post.Local.from_uri ("tcp://127.0.0.1:0"), null);
        listener.incoming.connect ((l, carrier) => {
            accepted.add (carrier);    // the listener hands out a carrier it does not keep
            carrier.receive_async.begin (null, (obj, res) => {
                try {
                    var m = carrier.receive_async.end (res);
                    carrier.send (new Post.Message (m.get_content ()));
                } catch (Error e) {
                    printerr ("server: %s\n", e.message);
                }
            });
            return true;
        });
        var port = ((InetSocketAddress) listener.get_local_address ()).port;
        var carrier = Post.Carrier.initiate (null, new Post.Remote.from_uri ("tcp://127.0.0.1:%u".printf (port)), null);
        carrier.send (new Post.Message.from_string ("Hello from Vala"));
        carrier.receive_async.begin (null, (obj, res) => {
            try {
                var content = carrier.receive_async.end (res).get_content ();
                unowned uint8[] data = content.get_data ();
                var text = new StringBuilder.sized (data.length + 1);
                text.append_len ((string) data, data.length);   // not NUL-terminated
                echoed = text.str;
            } catch (Error e) {
                printerr ("client: %s\n", e.message);
            }
            loop.quit ();
        });
        Timeout.add_seconds (20, () => { loop.quit (); return Source.REMOVE; });
        loop.run ();
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    print ("echo: %s\n", echoed ?? "(none)");
    return echoed == "Hello from Vala" ? 0 : 1;
}
