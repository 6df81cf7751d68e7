#!/bin/sh
# tests/install_layout.sh BUILD-DIR: `cmake --install` of BUILD-DIR into a
# temporary DESTDIR gives the layout product.md names (for the default prefix
# /usr; skipped, exit 77, for a build configured with another) and nothing
# else: the units, unchanged, in systemd.pc's unit directory and the
# sysusers.d and tmpfiles.d entries in its directories (or in the
# CERTGATE_*DIR the build was configured with). A second install keeps an
# edited /etc/certgate/policy.yaml and cafetch.yaml, putting the examples
# beside them as *.example. Exit 0 if so.
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
expected=$(mktemp)
trap 'rm -rf "$dest" "$expected"' EXIT
fail() { echo "install_layout: $*" >&2; exit 1; }
# cached NAME: NAME's value in the build's CMakeCache.txt.
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
# system_dir CACHE_NAME PC_VARIABLE FALLBACK: Install.cmake's directory for
# the prefix /usr.
system_dir() {
  dir=$(cached "$1")
  [ -n "$dir" ] || dir=$(pkg-config --variable="$2" systemd 2>/dev/null || true)
  echo "${dir:-$3}"
}

prefix=$(cached CMAKE_INSTALL_PREFIX)
if [ "$prefix" != /usr ]; then
  echo "install_layout: $build was configured with CMAKE_INSTALL_PREFIX=$prefix, not the default /usr: skipped"
  exit 77
fi
unitdir=$(system_dir CERTGATE_SYSTEMD_UNITDIR systemdsystemunitdir /usr/lib/systemd/system)
sysusersdir=$(system_dir CERTGATE_SYSUSERSDIR sysusersdir /usr/lib/sysusers.d)
tmpfilesdir=$(system_dir CERTGATE_TMPFILESDIR tmpfilesdir /usr/lib/tmpfiles.d)
units=$(cd "$src/packaging/systemd" && ls -- *.service *.socket *.timer *.path)
programs="/usr/libexec/certgate/principals-cmd /usr/libexec/certgate/keys-cmd
  /usr/libexec/certgate/certgate-decide /usr/sbin/cafetch"
files="/etc/certgate/policy.yaml /etc/certgate/cafetch.yaml
  /usr/share/man/man8/principals-cmd.8 /usr/share/man/man8/keys-cmd.8
  /usr/share/man/man8/cafetch.8 /usr/share/man/man8/certgate-decide.8
  /usr/share/man/man5/certgate-policy.5 /usr/share/man/man5/cafetch.yaml.5
  $sysusersdir/certgate.conf $tmpfilesdir/certgate.conf"
{
  for f in $programs $files; do echo "$f"; done
  for u in $units; do echo "$unitdir/$u"; done
} | LC_ALL=C sort >"$expected"

DESTDIR=$dest cmake --install "$build" >/dev/null
for f in $programs; do
  [ -x "$dest$f" ] || fail "no executable $f"
done
for f in $files; do
  [ -f "$dest$f" ] || fail "no $f"
done
for u in $units; do
  [ -f "$dest$unitdir/$u" ] || fail "no systemd unit $unitdir/$u"
  cmp -s "$dest$unitdir/$u" "$src/packaging/systemd/$u" ||
    fail "$unitdir/$u is not packaging/systemd/$u: for the prefix /usr the units are installed as they are"
done
for f in sysusers tmpfiles; do
  eval "dir=\$${f}dir"
  cmp -s "$dest$dir/certgate.conf" "$src/packaging/systemd/certgate-$f.conf" ||
    fail "$dir/certgate.conf is not packaging/systemd/certgate-$f.conf"
done
extra=$(cd "$dest" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort | LC_ALL=C comm -23 - "$expected")
[ -z "$extra" ] || fail "files installed outside the layout:
$extra"

echo "# the admin's edit" >>"$dest/etc/certgate/policy.yaml"
echo "# the admin's edit" >>"$dest/etc/certgate/cafetch.yaml"
DESTDIR=$dest cmake --install "$build" >/dev/null
for f in policy.yaml cafetch.yaml; do
  tail -n 1 "$dest/etc/certgate/$f" | grep -qx "# the admin's edit" ||
    fail "a second install replaced the edited /etc/certgate/$f"
  cmp -s "$dest/etc/certgate/$f.example" "$src/packaging/etc/$f" ||
    fail "a second install did not put the example beside it as /etc/certgate/$f.example"
done
echo "install_layout: ok"
