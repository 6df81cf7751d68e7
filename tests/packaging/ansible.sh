# shellcheck shell=bash
# The Ansible role step of tests/packaging/run, which sources this file
# after the purge step: a syntax check of packaging/ansible/site.yml, then
# real `ansible-playbook -c local` runs on this machine (the package from
# the .deb, the policy, cafetch run once against a private sshd_config and
# a login through it; a second run changes nothing; a policy that fails
# --check, alone or with a policy.d fragment, is refused and the installed
# one kept), then a purge that keeps an admin's 05-certgate.conf. Uses
# run's check/ok/not_ok/skip, pkg_installed, free_port, login, $WORK,
# $DEB, $HELPER and $contents; skipped without ansible-playbook.

step "Ansible role (packaging/ansible)"
ANSIBLE_DIR=$SRC/packaging/ansible
if command -v ansible-playbook >/dev/null 2>&1; then
  export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP=$WORK/ansible-local \
    ANSIBLE_REMOTE_TEMP=$WORK/ansible-remote ANSIBLE_HOME=$WORK/ansible-home
  check "ansible-playbook --syntax-check site.yml" \
    bash -c 'ansible-playbook -i localhost, --syntax-check "$1" >/dev/null' _ "$ANSIBLE_DIR/site.yml"

  # A private sshd config and trust file for cafetch to manage.
  mkdir -p "$WORK/cafetch/state" "$WORK/issuer"
  cp "$WORK/ca.pub" "$WORK/issuer/ca.pub"
  PORT2=$(free_port)
  cat >"$WORK/cafetch/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT2
HostKey $WORK/host_ed25519
PidFile $WORK/cafetch/sshd.pid
UsePAM no
LogLevel VERBOSE
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
EOF
  have_cafetch=0
  grep -q ' ./usr/sbin/cafetch$' <<<"$contents" && have_cafetch=1
  python3 - "$WORK" "$DEB" "$have_cafetch" >"$WORK/vars.json" <<'EOF'
import json, sys
work, deb, have_cafetch = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
v = {
    "certgate_hosts": "localhost",
    "ansible_become": False,
    "ansible_python_interpreter": "/usr/bin/python3",
    "certgate_package_file": deb,
    "certgate_policy_content": open(work + "/policy.yaml").read(),
}
if have_cafetch:
    v["certgate_cafetch_config_content"] = f"""# tests/packaging/run
issuer:
  type: url
  url: file://{work}/issuer/ca.pub
trusted_user_ca_keys: {work}/cafetch/trusted_user_ca_keys
state_dir: {work}/cafetch/state
sshd:
  config: {work}/cafetch/sshd_config
  binary: /usr/sbin/sshd
  manage_principals_command: true
  reload: none
"""
print(json.dumps(v))
EOF
  # play VARS_FILE OUT: runs the role against localhost (-c local) with the
  # default output callback (-v: results as JSON on the status line).
  play() {
    ansible-playbook -v -i localhost, -c local -e "@$1" "$ANSIBLE_DIR/site.yml" >"$2" 2>&1
  }
  # changed_tasks OUT: names of the tasks that reported changed.
  changed_tasks() {
    python3 - "$1" <<'PY'
import re, sys
task = None
for line in open(sys.argv[1]):
    m = re.match(r"TASK \[(?:[^:\]]+ : )?(.*)\] \*+$", line)
    if m:
        task = m.group(1)
    elif task and line.startswith("changed: "):
        print(task)
PY
  }
  # task_stdout OUT NAME-PREFIX: the stdout of that task's result.
  task_stdout() {
    python3 - "$1" "$2" <<'PY'
import json, re, sys
task = None
for line in open(sys.argv[1]):
    m = re.match(r"TASK \[(?:[^:\]]+ : )?(.*)\] \*+$", line)
    if m:
        task = m.group(1)
    elif task and task.startswith(sys.argv[2]):
        m = re.match(r"(?:ok|changed|failed|fatal): \[localhost\](?: => (.*))?$", line.strip())
        if m and m.group(1):
            try:
                print(json.loads(m.group(1)).get("stdout", ""))
            except ValueError:
                pass
PY
  }

  INSTALLED_BY_US=1
  touch "$MARKER"
  if play "$WORK/vars.json" "$WORK/play1.out"; then
    ok "role run 1 (-c local): succeeds"
  else
    tail -n 30 "$WORK/play1.out"
    not_ok "role run 1 (-c local): succeeds"
  fi
  changed1=$(changed_tasks "$WORK/play1.out" 2>/dev/null)
  sed 's/^/#   changed: /' <<<"$changed1"
  check "role run 1: package installed" pkg_installed
  check "role run 1: policy installed (root:root 0644, the test policy)" \
    bash -c '[ "$(stat -c "%a %U:%G" /etc/certgate/policy.yaml)" = "644 root:root" ] && cmp -s "$1" /etc/certgate/policy.yaml' _ "$WORK/policy.yaml"
  if [ "$have_cafetch" -eq 1 ]; then
    check "role run 1: cafetch --once reported changed" grep -q '^Fetch the CA keys once' <<<"$changed1"
    check "role run 1: cafetch trusted the issuer's CA key" \
      grep -qF "$(cut -d' ' -f2 "$WORK/ca.pub")" "$WORK/cafetch/trusted_user_ca_keys"
    check "role run 1: cafetch pointed sshd at the installed helper" \
      grep -q "^AuthorizedPrincipalsCommand $HELPER" "$WORK/cafetch/sshd_config"
  else
    skip "cafetch is not in the package: cafetch --once steps"
  fi

  if play "$WORK/vars.json" "$WORK/play2.out"; then
    ok "role run 2: succeeds"
  else
    tail -n 30 "$WORK/play2.out"
    not_ok "role run 2: succeeds"
  fi
  changed2=$(changed_tasks "$WORK/play2.out" 2>/dev/null)
  [ -z "$changed2" ] || sed 's/^/#   changed: /' <<<"$changed2"
  check "role run 2: nothing changed (idempotent)" test -z "$changed2"
  if [ "$have_cafetch" -eq 1 ]; then
    check "role run 2: cafetch's last line is 'unchanged'" \
      test "$(task_stdout "$WORK/play2.out" 'Fetch the CA keys once' | tail -1)" = unchanged

    # Log in through sshd with the config cafetch wrote.
    /usr/sbin/sshd -D -e -f "$WORK/cafetch/sshd_config" -E "$WORK/sshd2.log" &
    SSHD_PID=$!
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$PORT2") 2>/dev/null && break
      sleep 0.1
    done
    out=$(PORT=$PORT2 login "$WORK/id_ok")
    check "login through the sshd config cafetch wrote" test "$out" = certgate-login-ok
    kill "$SSHD_PID" 2>/dev/null
    wait "$SSHD_PID" 2>/dev/null
    SSHD_PID=
  fi

  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
v["certgate_policy_content"] = "version: 1\nrules:\n  - users: [root]\n    authorities: [nosuch]\n    principals: [x]\n"
v.pop("certgate_cafetch_config_content", None)
json.dump(v, open(sys.argv[2], "w"))
' "$WORK/vars.json" "$WORK/vars-bad.json"
  before_sum=$(sha256sum </etc/certgate/policy.yaml 2>/dev/null)
  if play "$WORK/vars-bad.json" "$WORK/play3.out"; then
    not_ok "role with an invalid policy fails (principals-cmd --check refuses it)"
  else
    ok "role with an invalid policy fails (principals-cmd --check refuses it)"
  fi
  check "the installed policy is unchanged after the refused one" \
    test -f /etc/certgate/policy.yaml -a "$(sha256sum </etc/certgate/policy.yaml 2>/dev/null)" = "$before_sum"

  # A policy valid alone that clashes with a fragment already in
  # /etc/certgate/policy.d (the same authority name) would make the whole
  # policy invalid once installed: the role checks it with the fragments.
  install -d -m 0755 -o root -g root /etc/certgate/policy.d
  {
    echo "authorities:"
    echo "  team:"
    echo "    keys:"
    echo "      - $(ssh-keygen -y -f "$WORK/host_ed25519")"
  } >"$WORK/10-team.yaml"
  install -m 0644 -o root -g root "$WORK/10-team.yaml" /etc/certgate/policy.d/10-team.yaml
  check "the installed policy with the fragment passes --check" bash -c '"$1" --check >/dev/null' _ "$HELPER"
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
team = open(sys.argv[3]).read().split("\n", 1)[1]
v["certgate_policy_content"] = open(sys.argv[2]).read().replace("rules:", team + "rules:", 1)
v.pop("certgate_cafetch_config_content", None)
json.dump(v, open(sys.argv[4], "w"))
' "$WORK/vars.json" "$WORK/policy.yaml" "$WORK/10-team.yaml" "$WORK/vars-clash.json"
  before_sum=$(sha256sum </etc/certgate/policy.yaml 2>/dev/null)
  if play "$WORK/vars-clash.json" "$WORK/play4.out"; then
    not_ok "role with a policy that clashes with a policy.d fragment fails"
  else
    ok "role with a policy that clashes with a policy.d fragment fails"
  fi
  check "the role's check named the clash" grep -q 'authority \\"team\\" is already defined' "$WORK/play4.out"
  check "the installed policy is unchanged after the clashing one" \
    test "$(sha256sum </etc/certgate/policy.yaml 2>/dev/null)" = "$before_sum"
  check "the installed policy with the fragment still passes --check" bash -c '"$1" --check >/dev/null' _ "$HELPER"
  check "the role's check directory is gone" test ! -e /etc/certgate/.certgate-policy-check
  rm -rf /etc/certgate/policy.d

  # A drop-in of cafetch's name that cafetch did not write is the admin's:
  # purge leaves it (and says so).
  admin_dropin=/etc/ssh/sshd_config.d/05-certgate.conf
  mkdir -p /etc/ssh/sshd_config.d
  echo "# written by hand" >"$admin_dropin"
  dpkg --purge certgate >"$WORK/purge2.log" 2>&1
  check "purge after the Ansible runs" bash -c '! dpkg-query -W -f="\${Status}" certgate 2>/dev/null | grep -q " installed$"'
  check "purge left a 05-certgate.conf cafetch did not write" \
    test "$(cat "$admin_dropin" 2>/dev/null)" = "# written by hand"
  check "purge said it left it" grep -q "left $admin_dropin, which cafetch did not write" "$WORK/purge2.log"
  rm -f "$admin_dropin"
  check "purge after the Ansible runs removed /etc/certgate, /var/lib/certgate and /var/cache/certgate" \
    test ! -e /etc/certgate -a ! -e /var/lib/certgate -a ! -e /var/cache/certgate
else
  skip "ansible-playbook not installed (apt-get install ansible-core)"
fi
