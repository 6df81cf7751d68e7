#!/bin/sh
# A real certgate decision, start to finish: a CA and a user certificate made
# by ssh-keygen, a policy, and principals-cmd showing an allow and two denies,
# the same from the compiled policy snapshot;
# then cafetch making a private sshd_config trust that CA, checked by the
# real sshd -t/-T (nothing outside a temporary directory in /run is touched,
# but for sshd's own /run/sshd, which sshd -t needs).
#   examples/demo.sh [BUILD-DIR]   (runs itself with sudo when not root)
set -eu
build=${1:-build}
[ -d "$build" ] || { echo "demo: build first: cmake -S . -B $build -G Ninja && cmake --build $build" >&2; exit 1; }
pcmd=$(cd "$build" && pwd)/principals-cmd/principals-cmd
cafetch=$(cd "$build" && pwd)/cafetch/cafetch
[ -x "$pcmd" ] || { echo "demo: build first: cmake -S . -B $build -G Ninja && cmake --build $build" >&2; exit 1; }
# Policy files must be owned by root, as sshd's own files are.
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "demo: run as root: policy files must be owned by root" >&2; exit 1; }
  exec sudo "$0" "$@"
fi

# Not under /tmp: the policy and every directory above it must be root-owned
# and not writable by others, as sshd's StrictModes has it.
dir=$(mktemp -d /run/certgate-demo-XXXXXX)
trap 'rm -rf "$dir"' EXIT
show() { printf '\n$ %s\n' "$*"; "$@" || printf '(exit status %s)\n' "$?"; }

# A CA, as Vault or step-ca would hold it, and alice's key.
ssh-keygen -q -N '' -t ed25519 -f "$dir/prod-ca" -C prod-ca
ssh-keygen -q -N '' -t ed25519 -f "$dir/alice" -C alice
# A certificate for principal "ops", valid from a minute ago for five minutes...
ssh-keygen -q -s "$dir/prod-ca" -I alice@example.com -n ops -V -1m:+5m -z 1001 "$dir/alice.pub"
cp "$dir/alice-cert.pub" "$dir/alice-5m-cert.pub"
# ...and one valid for two hours, longer than the policy allows.
ssh-keygen -q -s "$dir/prod-ca" -I alice@example.com -n ops -V -1m:+2h -z 1002 "$dir/alice.pub"
cp "$dir/alice-cert.pub" "$dir/alice-2h-cert.pub"

cat >"$dir/policy.yaml" <<YAML
version: 1
authorities:
  prod:
    keys: ["$(cat "$dir/prod-ca.pub")"]
rules:
  - name: ops-may-be-ubuntu-or-alice
    users: [ubuntu, alice]
    authorities: [prod]
    principals: [ops]
    max_lifetime: 10m
    key_id: "*@example.com"
YAML
chmod 0644 "$dir/policy.yaml"
echo "policy ($dir/policy.yaml):"
sed 's/^/  /' "$dir/policy.yaml"

show "$pcmd" --check --policy "$dir/policy.yaml"
show "$pcmd" --explain --user alice --policy "$dir/policy.yaml" "$dir/alice-5m-cert.pub"
show "$pcmd" --explain --user bob --policy "$dir/policy.yaml" "$dir/alice-5m-cert.pub"
show "$pcmd" --explain --user alice --policy "$dir/policy.yaml" "$dir/alice-2h-cert.pub"
# What sshd itself runs (AuthorizedPrincipalsCommand ... %u %t %k):
set -- $(cat "$dir/alice-5m-cert.pub")
show "$pcmd" --policy "$dir/policy.yaml" alice "$1" "$2"
# The compiled snapshot that certgate-compile.path keeps current: without the
# certgate-decide service the helper maps it instead of reading the YAML
# (--verbose shows the log records, here that it read the snapshot).
install -d -m 0755 "$dir/cache"
show "$pcmd" --compile --policy "$dir/policy.yaml" --snapshot "$dir/cache/policy.snapshot"
show "$pcmd" --verbose --policy "$dir/policy.yaml" --snapshot "$dir/cache/policy.snapshot" alice "$1" "$2"

# cafetch: the issuer here is a local file holding the CA key (type: file);
# the sshd_config is a private one, checked by the real sshd but not reloaded.
install -d -m 0755 /run/sshd
ssh-keygen -q -N '' -t ed25519 -f "$dir/host_ed25519"
cat >"$dir/sshd_config" <<CONF
Port 2222
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
UsePAM no

Match User backup
  ForceCommand /bin/false
CONF
cat >"$dir/cafetch.yaml" <<YAML
issuer:
  type: file
  path: $dir/prod-ca.pub
keep_retired: 24h
trusted_user_ca_keys: $dir/ssh/trusted_user_ca_keys
state_dir: $dir/state
sshd:
  config: $dir/sshd_config
  manage_principals_command: false
  reload: none
YAML
chmod 0600 "$dir/cafetch.yaml"
if [ -x "$cafetch" ]; then
  show "$cafetch" --config "$dir/cafetch.yaml" --dry-run
  show "$cafetch" --config "$dir/cafetch.yaml" --once
  show "$cafetch" --config "$dir/cafetch.yaml" --once
  echo
  echo "sshd_config now (the block is placed before the first Match):"
  sed 's/^/  /' "$dir/sshd_config"
fi
