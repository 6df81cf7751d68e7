"""What the principals-cmd end-to-end tests share: their users (a group
with a supplementary and a primary member, and a non-member), three CAs,
the installed binary behind the decide mode under test, and the policy
builders.

test_principals_cmd.py logs in through sshd; test_principals_cmd_direct.py
runs the binary as sshd runs it. Both call parse_args() first.
"""

import glob
import os

import decide_mode
import sshd_harness as h

PREFIX = "cgp"  # users and groups of the principals-cmd tests (keys-cmd uses cgk)
ALICE, BOB, CAROL = PREFIX + "_alice", PREFIX + "_bob", PREFIX + "_carol"
OPS_GROUP = PREFIX + "_ops"
# The logged reason when rules exist but none grants (loose on purpose).
NOT_GRANTED = r"deny .*(no rule grants|not in users|principal)"


def parse_args():
    """Takes --binary PATH and --mode M out of sys.argv; returns (binary,
    no_binary): the principals-cmd under test (else $CERTGATE_PRINCIPALS_CMD,
    else the newest build*/principals-cmd/principals-cmd of the tree) and
    why it cannot run (None if it can). --mode fallback (default): the
    client finds no service and runs the helper in-process (certgate-decide
    --run); --mode service: a certgate-decide service with the policy
    preloaded answers; --mode snapshot: in-process from a snapshot. Every
    case must pass in every mode: the decision is the same code."""
    binary = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
    PrincipalsWorld.mode = decide_mode.parse_mode_arg()
    if not binary:
        here = os.path.dirname(os.path.abspath(__file__))
        found = sorted(glob.glob(os.path.join(here, "..", "..", "build*", "principals-cmd",
                                              "principals-cmd")), key=os.path.getmtime)
        binary = os.path.abspath(found[-1]) if found else None
    PrincipalsWorld.binary = binary
    no_binary = h.missing_binary(binary, "principals-cmd", "CERTGATE_PRINCIPALS_CMD")
    PrincipalsWorld.usable = no_binary is None
    return binary, no_binary


class PrincipalsWorld(h.World):
    """State shared by the classes of a file: one workspace, users, CAs,
    syslog tap; built on first use, torn down at exit."""
    TAG = "p"
    binary = None
    mode = None
    usable = False

    @classmethod
    def populate(cls):
        cls.users.group(OPS_GROUP)
        cls.users.user(ALICE, groups=[OPS_GROUP])     # supplementary member
        cls.users.user(BOB, primary_group=OPS_GROUP)  # primary member
        cls.users.user(CAROL)                         # not a member
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.ca_other = cls.keys.make_key("ca-other")            # trusted by sshd, not by policy
        cls.ca_rsa = cls.keys.make_key("ca-rsa", "rsa", 3072)   # legacy, SHA-1 capable
        cls.trusted = cls.ws.write(os.path.join(cls.ws.etc, "trusted_user_ca_keys"), "".join(
            h.Keys.pub_line(k) + "\n" for k in (cls.ca_prod, cls.ca_other, cls.ca_rsa)))
        cls.policy = os.path.join(cls.ws.etc, "policy.yaml")
        if cls.usable:
            cls.bin = cls.ws.install(cls.binary, "principals-cmd")
            cls.decide = decide_mode.DecideMode(cls.ws, cls.binary, cls.mode, cls.policy)
            cls.decide.wrap_run_helper(cls.bin)
            cls.cmd = cls.decide.command(cls.bin)


def tear_down():
    """tearDownModule of both files: removes the world and fails the module
    when --mode service did not exercise the service (or --mode snapshot the
    snapshot) instead of the plain fallback."""
    decide = getattr(PrincipalsWorld, "decide", None)
    why = decide.not_exercised(getattr(PrincipalsWorld, "tap", None)) if decide is not None else None
    PrincipalsWorld.teardown()
    if why:
        raise AssertionError(why)


def base_policy(w, rules, allow_sha1=None, revoked_serials=None, revoked=None, defaults=None):
    prod = {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}
    if revoked_serials:
        prod["revoked_serials"] = revoked_serials
    legacy = {"keys": [h.Keys.pub_line(w.ca_rsa) + " legacy-ca"]}
    if allow_sha1 is not None:
        legacy["allow_sha1"] = allow_sha1
    doc = {"version": 1, "authorities": {"prod": prod, "legacy": legacy}}
    if defaults:
        doc["defaults"] = defaults
    if revoked:
        doc["revoked"] = revoked
    doc["rules"] = rules
    return h.policy_yaml(doc)


def rule(users, principals=("ops",), authorities=("prod",), **kw):
    r = {"users": list(users), "authorities": list(authorities), "principals": list(principals)}
    r.update(kw)
    return r
