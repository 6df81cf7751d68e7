#!/bin/sh
# gen.sh: regenerate the committed certificate vectors in tests/data/certs/
# with the real ssh-keygen. Private keys are made in a temporary directory
# and never kept; only public keys and certificates are written.
#
#   tests/data/gen.sh            (run from anywhere)
#
# Names: *-cert.pub must parse as user or host certificates and agree with
# `ssh-keygen -L`; bad-*-cert.pub must be rejected by certgate's parser.
# Each certificate has a .txt beside it with `ssh-keygen -L` (TZ=UTC).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/certs"
shared="$here/../../../shared/testdata/openssh-sshkey"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC

key() {  # key NAME TYPE [BITS]
  if [ $# -ge 3 ]; then
    ssh-keygen -q -N '' -t "$2" -b "$3" -C "$1" -f "$tmp/$1"
  else
    ssh-keygen -q -N '' -t "$2" -C "$1" -f "$tmp/$1"
  fi
}

sign() {  # sign CA SUBJECT OUTNAME ID [ssh-keygen options...]
  ca=$1 subject=$2 name=$3 id=$4
  shift 4
  cp "$tmp/$subject.pub" "$tmp/$name.pub"
  ssh-keygen -q -s "$tmp/$ca" -I "$id" "$@" "$tmp/$name.pub"
  cp "$tmp/$name-cert.pub" "$out/$name-cert.pub"
  ssh-keygen -L -f "$out/$name-cert.pub" | tail -n +2 > "$out/$name-cert.txt"
}

rm -f "$out"/*-cert.pub "$out"/*-cert.txt "$out"/ca_*.pub
mkdir -p "$out"

key ca_ed25519 ed25519
key ca_rsa rsa 2048
key ca_ecdsa384 ecdsa 384
for ca in ca_ed25519 ca_rsa ca_ecdsa384; do cp "$tmp/$ca.pub" "$out/$ca.pub"; done

key rsa rsa 2048
key ecdsa256 ecdsa 256
key ecdsa384 ecdsa 384
key ecdsa521 ecdsa 521
key ed25519 ed25519

V=20200101000000:20400101000000
serial=1
for k in rsa ecdsa256 ecdsa384 ecdsa521 ed25519; do
  sign ca_ed25519 "$k" "user_$k" "user-$k" -n alice,bob -V "$V" -z "$serial"
  serial=$((serial + 1))
done
if [ -d "$shared" ]; then
  cp "$shared/ed25519_sk1.pub" "$tmp/sk_ed25519.pub"
  cp "$shared/ecdsa_sk1.pub" "$tmp/sk_ecdsa.pub"
  sign ca_ed25519 sk_ed25519 user_sk_ed25519 user-sk-ed25519 -n alice -V "$V" -z 20
  sign ca_ed25519 sk_ecdsa user_sk_ecdsa user-sk-ecdsa -n alice -V "$V" -z 21 \
    -O no-touch-required -O verify-required
fi

sign ca_rsa ed25519 rsa_ca_sha1 rsa-sha1 -n alice -V "$V" -t ssh-rsa
sign ca_rsa ed25519 rsa_ca_sha256 rsa-sha256 -n alice -V "$V" -t rsa-sha2-256
sign ca_rsa ed25519 rsa_ca_sha512 rsa-sha512 -n alice -V "$V" -t rsa-sha2-512
sign ca_ecdsa384 ecdsa256 ecdsa384_ca ecdsa-ca -n alice -V "$V"

sign ca_ed25519 ed25519 options options -n alice -V always:forever -z 18446744073709551615 \
  -O clear -O force-command="/usr/bin/rsync --server" \
  -O source-address=10.0.0.0/8,2001:db8::/32 -O verify-required -O permit-pty \
  -O extension:foo@example.com=bar -O extension:flag@example.com
sign ca_ed25519 ed25519 no_principals no-principals -V "$V"
sign ca_ed25519 ed25519 host host -h -n host.example.com -V "$V"
sign ca_ed25519 ed25519 bad-unknown_critical unknown-critical -n alice -V "$V" \
  -O critical:foo@example.com=bar
