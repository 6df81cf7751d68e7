#!/bin/sh
# tests/install_prefix.sh BUILD-DIR: an install to a prefix other than /usr
# keeps every file under that prefix, and its units name programs it
# installed.
# 1. `DESTDIR=D cmake --install BUILD-DIR --prefix /opt/cg`, a prefix given
#    only when installing: every file (and install_manifest.txt) is under
#    /opt/cg, the units, entries and configs are where cmake/Install.cmake
#    says, every Exec*= program is the install's own or a system tool, and
#    systemd-analyze verify accepts the units (if it is installed). Skipped
#    for a build configured with absolute install directories (a package
#    build's: those do not follow the prefix).
# 2. A build configured with -DCMAKE_INSTALL_PREFIX=/usr/local (configured
#    here, not built: CMAKE_INSTALL_LOCAL_ONLY installs the top directory's
#    files, which are the units, entries, configs and some man pages) puts
#    them under /usr/local, its units naming /usr/local/sbin and
#    /usr/local/libexec.
# Exit 0 if so, 77 if part 1 was skipped and part 2 passed.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install_prefix: $*" >&2; exit 1; }
# cached NAME: NAME's value in the build's CMakeCache.txt.
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
units=$(cd "$src/packaging/systemd" && ls -- *.service *.socket *.timer *.path)
programs="sbin/cafetch libexec/certgate/principals-cmd libexec/certgate/keys-cmd
  libexec/certgate/certgate-decide"

# installed_files DEST: every file under DEST, as installed (DEST removed).
installed_files() {
  (cd "$1" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort)
}

# check_system_files DEST PREFIX SYSCONFDIR: the units, sysusers.d and
# tmpfiles.d entries and example configs are in PREFIX's directories under
# DEST; the units are packaging/systemd's with /usr/sbin/ and /usr/libexec/
# replaced by PREFIX/sbin/ and PREFIX/libexec/ and nothing else.
check_system_files() {
  for u in $units; do
    f=$1$2/lib/systemd/system/$u
    [ -f "$f" ] || fail "no unit $2/lib/systemd/system/$u"
    sed -e "s|$2/sbin/|/usr/sbin/|g" -e "s|$2/libexec/|/usr/libexec/|g" "$f" |
      cmp -s - "$src/packaging/systemd/$u" ||
      fail "$2/lib/systemd/system/$u is not packaging/systemd/$u with its paths under $2"
    if grep -Eq '/usr/(sbin|libexec)/' "$f"; then
      fail "$2/lib/systemd/system/$u still names /usr/sbin or /usr/libexec: $(grep -E '/usr/(sbin|libexec)/' "$f")"
    fi
  done
  for f in sysusers tmpfiles; do
    cmp -s "$1$2/lib/$f.d/certgate.conf" "$src/packaging/systemd/certgate-$f.conf" ||
      fail "no $2/lib/$f.d/certgate.conf as packaging/systemd/certgate-$f.conf"
  done
  for f in policy.yaml cafetch.yaml; do
    cmp -s "$1$3/certgate/$f" "$src/packaging/etc/$f" || fail "no $3/certgate/$f as packaging/etc/$f"
  done
}

# check_exec DEST PREFIX: every Exec*= program of the units under DEST is one
# of $programs under PREFIX, or a system tool outside certgate's directories
# (/bin/kill).
check_exec() {
  for u in $units; do
    sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$1$2/lib/systemd/system/$u" | while read -r cmd; do
      ours=0
      for p in $programs; do
        [ "$cmd" != "$2/$p" ] || ours=1
      done
      [ "$ours" = 1 ] && continue
      case $cmd in
        */certgate/* | */cafetch) fail "$u runs $cmd, not one of the programs installed under $2" ;;
        *) [ -x "$cmd" ] || fail "$u runs $cmd, which is not on this system" ;;
      esac
    done
  done
}

part1_skipped=0
# 1. A prefix given only when installing.
absolute=
for v in CMAKE_INSTALL_SBINDIR CMAKE_INSTALL_LIBEXECDIR CMAKE_INSTALL_SYSCONFDIR \
         CMAKE_INSTALL_MANDIR CERTGATE_SYSTEMD_UNITDIR CERTGATE_SYSUSERSDIR CERTGATE_TMPFILESDIR; do
  case $(cached $v) in /*) absolute="${absolute:+$absolute }$v" ;; esac
done
if [ -n "$absolute" ]; then
  echo "install_prefix: $build names absolute install directories ($absolute): --prefix does not move them: part 1 skipped"
  part1_skipped=1
else
  dest=$work/dest
  DESTDIR=$dest cmake --install "$build" --prefix /opt/cg >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install --prefix /opt/cg failed"; }
  echo "installed by cmake --install $build --prefix /opt/cg:"
  installed_files "$dest" | tee "$work/files"
  outside=$(grep -v '^/opt/cg/' "$work/files" || true)
  [ -z "$outside" ] || fail "installed outside the prefix /opt/cg:
$outside"
  LC_ALL=C sort "$build/install_manifest.txt" | cmp -s - "$work/files" ||
    fail "install_manifest.txt does not list the installed files: $(LC_ALL=C sort "$build/install_manifest.txt")"
  for p in $programs; do
    [ -x "$dest/opt/cg/$p" ] || fail "no executable /opt/cg/$p"
  done
  check_system_files "$dest" /opt/cg /opt/cg/etc
  # With each of $programs installed (above), the units name files the
  # install has.
  check_exec "$dest" /opt/cg
  if command -v systemd-analyze >/dev/null 2>&1; then
    # The units as they would be with the install at /opt/cg: their
    # programs are looked up under DESTDIR.
    mkdir "$work/units"
    for u in $units; do
      sed "s|/opt/cg/|$dest/opt/cg/|g" "$dest/opt/cg/lib/systemd/system/$u" >"$work/units/$u"
    done
    # shellcheck disable=SC2086 # one argument per unit
    if ! (cd "$work/units" && systemd-analyze verify --man=no $units) >"$work/verify.log" 2>&1 ||
      grep -q . "$work/verify.log"; then
      cat "$work/verify.log"
      fail "systemd-analyze verify: the units installed for /opt/cg"
    fi
  else
    echo "install_prefix: systemd-analyze not installed: units not verified"
  fi
fi

# 2. A prefix given when configuring: the build's generator and compiler,
# the install rules of the top directory only.
configured=$work/usr-local
cmake -S "$src" -B "$configured" -G "$(cached CMAKE_GENERATOR)" \
  -DCMAKE_CXX_COMPILER="$(cached CMAKE_CXX_COMPILER)" -DCMAKE_INSTALL_PREFIX=/usr/local \
  -DCERTGATE_BUILD_TESTS=OFF >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configuring with CMAKE_INSTALL_PREFIX=/usr/local failed"; }
dest=$work/dest-usr-local
DESTDIR=$dest cmake -DCMAKE_INSTALL_LOCAL_ONLY=1 -P "$configured/cmake_install.cmake" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "installing the build configured for /usr/local failed"; }
outside=$(installed_files "$dest" | grep -v '^/usr/local/' || true)
[ -z "$outside" ] || fail "a build configured for /usr/local installed outside it:
$outside"
check_system_files "$dest" /usr/local /usr/local/etc
check_exec "$dest" /usr/local

if [ "$part1_skipped" = 1 ]; then
  echo "install_prefix: /usr/local ok; --prefix skipped"
  exit 77
fi
echo "install_prefix: ok"
