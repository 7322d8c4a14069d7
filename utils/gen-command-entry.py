#!/usr/bin/env python3
"""Prints command-table entries (src/server/cmd/commands.c syntax) for the named
commands, read from a running real Redis's COMMAND INFO and COMMAND DOCS, so
that a new entry starts from Redis's own arity, flags, key positions and key-spec
flags, ACL categories and tips. The summary is left for the author to write.

usage: utils/gen-command-entry.py PORT cmd [cmd ...]
Needs redis-cli on PATH. The output is a starting point, reviewed by hand;
tests/integration/test_command_info.c checks the table against Redis.
"""
import subprocess
import sys

def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), "--json"] + list(args),
                         capture_output=True, text=True, check=True).stdout
    import json
    return json.loads(out)

FLAG = {f: "CMD_" + f.upper() for f in [
    "write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
    "no_auth", "may_replicate", "no_multi", "allow_busy", "no_mandatory_keys",
    "no_async_loading"]}
FLAG["movablekeys"] = "CMD_MOVABLE_KEYS"

def handler_name(full):
    parts = full.split("|")
    return parts[0] + "".join(p.capitalize() for p in parts[1:]) + "Command"

def entry(port, info, docs, indent="    "):
    name, arity, flags, first, last, step, acl, tips = info[:8]
    full = name
    short = name.split("|")[-1]
    fl = " | ".join(FLAG[f] for f in flags if f in FLAG) or "0"
    ac = " | ".join("ACL_" + a.lstrip("@").upper() for a in acl) or "0"
    d = docs or {}
    tip = " ".join(tips)
    lines = [f'{indent}{{.name = "{short}", .proc = {handler_name(full)}, .arity = {arity},',
             f'{indent} .flags = {fl},',
             f'{indent} .acl = {ac},']
    if first:
        kf = "|".join(" ".join(spec["flags"]) for spec in info[8])
        lines.append(f'{indent} .key_first = {first}, .key_last = {last}, .key_step = {step},'
                     f' .key_flags = "{kf}",')
    lines.append(f'{indent} .group = "{d.get("group","")}", .since = "{d.get("since","")}",')
    if d.get("complexity"):
        lines.append(f'{indent} .complexity = "{d["complexity"]}",')
    if tip:
        lines.append(f'{indent} .tips = "{tip}",')
    lines.append(f'{indent} .summary = "TODO"}},')
    return "\n".join(lines)

def main():
    port = sys.argv[1]
    for cmd in sys.argv[2:]:
        info = cli(port, "COMMAND", "INFO", cmd)[0]
        docs = cli(port, "COMMAND", "DOCS", cmd)
        d = docs.get(cmd.lower(), {}) if isinstance(docs, dict) else {}
        print(entry(port, info, d))
        subs = info[9] if len(info) > 9 else []
        for s in subs:
            sd = d.get("subcommands", {}).get(s[0], {})
            print(entry(port, s, sd, indent="        "))

if __name__ == "__main__":
    main()
