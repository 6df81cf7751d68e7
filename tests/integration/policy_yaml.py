"""policy_yaml(): a certgate policy written as an administrator writes it
(block-style YAML) from nested dicts and lists. Python 3 standard library
only; sshd_harness re-exports it as h.policy_yaml."""

import re

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/@]*$")


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s not in ("true", "false", "null", "yes", "no", "on", "off", "~"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _emit(v, indent):
    pad = " " * indent
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append("%s%s:" % (pad, k))
                out += _emit(x, indent + 2)
            elif isinstance(x, list):
                out.append("%s%s: []" % (pad, k))
            else:
                out.append("%s%s: %s" % (pad, k, _scalar(x)))
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict):
                sub = _emit(x, indent + 2)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out += sub
            else:
                out.append("%s- %s" % (pad, _scalar(x)))
    return out


def policy_yaml(doc):
    """Block-style YAML for a policy given as nested dicts/lists (insertion
    order kept). Strings that are not plain words are double-quoted."""
    return "\n".join(_emit(doc, 0)) + "\n"
