#!/bin/sh
# tests/install_layout.sh BUILD-DIR: `cmake --install` of BUILD-DIR into a
# temporary DESTDIR gives the layout product.md names (for the default prefix
# /usr; skipped, exit 77, for a build configured with another), and a second install keeps an
# edited /etc/certgate/policy.yaml and cafetch.yaml, putting the examples
# beside them as *.example. Exit 0 if so.
set -eu
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install_layout: $*" >&2; exit 1; }

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
  echo "install_layout: $build was configured with CMAKE_INSTALL_PREFIX=$prefix, not the default /usr: skipped"
  exit 77
fi
DESTDIR=$dest cmake --install "$build" >/dev/null
for f in usr/libexec/certgate/principals-cmd usr/libexec/certgate/keys-cmd \
         usr/libexec/certgate/certgate-decide usr/sbin/cafetch; do
  [ -x "$dest/$f" ] || fail "no executable /$f"
done
for f in etc/certgate/policy.yaml etc/certgate/cafetch.yaml \
         usr/share/man/man8/principals-cmd.8 usr/share/man/man8/keys-cmd.8 \
         usr/share/man/man8/cafetch.8 usr/share/man/man5/certgate-policy.5 \
         usr/share/man/man5/cafetch.yaml.5; do
  [ -f "$dest/$f" ] || fail "no /$f"
done
for u in cafetch.service cafetch.timer; do
  find "$dest" -path "*/systemd/system/$u" | grep -q . || fail "no systemd unit $u"
done

echo "# the admin's edit" >>"$dest/etc/certgate/policy.yaml"
echo "# the admin's edit" >>"$dest/etc/certgate/cafetch.yaml"
DESTDIR=$dest cmake --install "$build" >/dev/null
for f in policy.yaml cafetch.yaml; do
  tail -n 1 "$dest/etc/certgate/$f" | grep -qx "# the admin's edit" ||
    fail "a second install replaced the edited /etc/certgate/$f"
  cmp -s "$dest/etc/certgate/$f.example" "$(dirname "$0")/../packaging/etc/$f" ||
    fail "a second install did not put the example beside it as /etc/certgate/$f.example"
done
echo "install_layout: ok"
