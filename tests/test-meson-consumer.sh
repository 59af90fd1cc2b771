#!/bin/bash
# test-meson-consumer.sh: libpost as other projects and packagers take it.
#
#   test-meson-consumer.sh SOURCE_ROOT BUILD_ROOT
#
# 1. A meson project with libpost as a subproject builds against
#    dependency('post-1', fallback: 'libpost') (meson.override_dependency),
#    with libpost's tests, examples, bench and introspection turned off by
#    its options, and its program finds the subproject's plugins under
#    `meson devenv`.
# 2. `meson devenv` of this build tree points at this tree's plugins.
# 3. An installed tree moved to another prefix still finds its plugins:
#    they are looked up relative to libpost's own location.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
src=$1 build=$2
. "$(dirname "$0")/test-lib.sh"
echo "1..3"

# 1. a subproject
mkdir -p "$tmp/consumer/subprojects"
cp "$src/tests/consumer/consumer.c" "$tmp/consumer/"
cp "$src/tests/consumer/meson.build.in" "$tmp/consumer/meson.build"
ln -s "$src" "$tmp/consumer/subprojects/libpost"
if (cd "$tmp/consumer" &&
    meson setup _build -Dlibpost:tests=false -Dlibpost:examples=false -Dlibpost:bench=false \
      -Dlibpost:introspection=disabled -Dlibpost:quic=disabled -Dlibpost:sctp=disabled \
      -Dlibpost:udp=disabled >"$tmp/setup.log" 2>&1 &&
    ninja -C _build >"$tmp/build.log" 2>&1 &&
    env -u POST_PLUGIN_PATH -u POST_PLUGIN_SYSTEM_PATH \
      meson devenv -C _build ./consumer >"$tmp/consumer.out" 2>&1) &&
   [ "$(sort "$tmp/consumer.out")" = "$(printf 'tcp\ntls')" ]; then
  ok "a subproject: dependency('post-1', fallback: 'libpost'), options, devenv (stacks: $(tr '\n' ' ' <"$tmp/consumer.out"))"
else
  not_ok "a subproject: dependency('post-1', fallback: 'libpost')" "$tmp/setup.log" "$tmp/build.log" "$tmp/consumer.out"
fi

# 2. meson devenv of this build tree
if env -u POST_PLUGIN_PATH -u POST_PLUGIN_SYSTEM_PATH \
     meson devenv -C "$build" sh -c 'echo "$POST_PLUGIN_PATH"' >"$tmp/devenv.out" 2>&1 &&
   grep -q "$build/plugins/tcp-tls" "$tmp/devenv.out"; then
  ok "meson devenv sets POST_PLUGIN_PATH to the build tree's plugins"
else
  not_ok "meson devenv sets POST_PLUGIN_PATH" "$tmp/devenv.out"
fi

# 3. an installed tree, then moved: its plugins are found from libpost's own place
libdir=$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
prefix=$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
if [ -e "$prefix/$libdir/post-1/plugins" ]; then
  # the configured plugin directory would answer for the moved tree
  skip "a relocated install: $prefix/$libdir/post-1/plugins exists on this machine, so it cannot tell"
elif meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/stage" >"$tmp/install.log" 2>&1 &&
   mv "$tmp/stage$prefix" "$tmp/moved" &&
   env -u POST_PLUGIN_PATH -u POST_PLUGIN_SYSTEM_PATH LD_LIBRARY_PATH="$tmp/moved/$libdir" \
     "$tmp/moved/bin/post-stack-check" --list >"$tmp/list.out" 2>&1 &&
   grep -qx tcp "$tmp/list.out" && grep -qx udp "$tmp/list.out"; then
  ok "a relocated install finds its plugins in <prefix>/$libdir/post-1/plugins ($(tr '\n' ' ' <"$tmp/list.out"))"
else
  not_ok "a relocated install finds its plugins" "$tmp/install.log" "$tmp/list.out"
fi
[ "$failures" -eq 0 ]
