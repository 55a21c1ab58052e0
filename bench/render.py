#!/usr/bin/python3
"""Render a benchmark pipeline: pipelines/bench/NAME.toml with the run's values filled in.

    bench/render.py NAME|FILE [--pcap FILE] [--hugepages required|off] [-o OUT]

The one place the placeholders of pipelines/bench/ are replaced (bench/*.sh run this, bench/harness.py
imports it; pipelines/bench/README.md describes the scheme):

    @PCAP@        the pcap the input port replays (--pcap)
    @HUGEPAGES@   eal.hugepages, "required" or "off" (--hugepages)
    @PATHS@       a line of its own: 9999 [[paths]] p101..p10099, SPI 101..10099, each to the
                  remote SFF sff3 (with the file's p100, the 10k SPIs of
                  `tests/sfc_traffic.py vxlan-nsh --spi 100 --spis 10000`)
    @RULES@       a line of its own: 9999 [[classifier]] /32 drop rules on sources 10.200.0.0 ..
                  10.200.39.14, which the traffic never matches
    @IDS_RULES_N@ the path of a generated rules file of N content rules (bench_rules), written
                  into the system's temporary folder: N = 300 or 3000

A value given that the file does not use is ignored; a placeholder left without a value is an error.
"""

import argparse
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DIR = os.path.join(ROOT, "pipelines/bench")


def extra_paths(n=9999, base=101, hop='{ si = 255, sff = "sff3" }'):
    return "".join(f'[[paths]]\nname = "p{base + i}"\nspi = {base + i}\nhops = [{hop}]\n'
                   for i in range(n))


def extra_rules(n=9999):
    return "".join(f'[[classifier]]\npriority = 10\nsrc = "10.200.{i // 256}.{i % 256}/32"\n'
                   f'action = "drop"\n' for i in range(n))


SECTIONS = {"@PATHS@": extra_paths, "@RULES@": extra_rules}


def bench_rules(n):
    """N Suricata-syntax content rules the benchmark traffic (UDP to port 5001, payload bytes
    below 0x80 that are never letters in a row) never matches: 8-letter contents, every tenth
    nocase, every fifth with offset and depth, every seventh with a second content within 16,
    every third a drop rule; on UDP, TCP and any IP protocol. Deterministic."""
    import random
    rnd = random.Random(n)
    lines = []
    for i in range(n):
        word = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
        proto = ("udp", "tcp", "ip")[i % 3]
        action = "drop" if i % 3 == 0 else "alert"
        opts = f'content:"{word}";'
        if i % 10 == 0:
            opts += " nocase;"
        if i % 5 == 0:
            opts += " offset:2; depth:40;"
        if i % 7 == 0:
            second = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4))
            opts += f' content:"{second}"; distance:0; within:16;'
        lines.append(f'{action} {proto} any any -> any any (msg:"bench rule {i}"; {opts} '
                     f'sid:{2000000 + i}; rev:1;)\n')
    return "".join(lines)


def ids_rules_file(n):
    """Writes bench_rules(n) into the temporary folder; its path."""
    import tempfile
    f = os.path.join(tempfile.gettempdir(), f"qdp-bench-ids-{n}.rules")
    with open(f, "w") as out:
        out.write(bench_rules(n))
    return f


def path(name):
    """The file of a pipeline name (`transit`) or path."""
    if os.sep in name or name.endswith(".toml"):
        return name
    return os.path.join(DIR, name + ".toml")


def render(name, pcap=None, hugepages=None):
    """The text of pipeline `name` (a file under pipelines/bench/ or a path) with its placeholders
    replaced; ValueError when one is left without a value."""
    with open(path(name)) as f:
        text = f.read()
    values = {}
    if pcap is not None:
        if re.search(r'[",\\\n]', pcap):
            raise ValueError(f"pcap path {pcap!r}: a quote, comma, backslash or newline would "
                             "break the vdev string")
        values["@PCAP@"] = pcap
    if hugepages is not None:
        if hugepages not in ("required", "off", "auto"):
            raise ValueError(f"hugepages {hugepages!r}: required, off or auto")
        values["@HUGEPAGES@"] = hugepages
    for n in (300, 3000):
        if f"@IDS_RULES_{n}@" in text:
            values[f"@IDS_RULES_{n}@"] = ids_rules_file(n)
    lines = []
    for line in text.splitlines(keepends=True):
        gen = SECTIONS.get(line.strip())
        if gen:
            lines.append(gen())
            continue
        for k, v in values.items():
            line = line.replace(k, v)
        lines.append(line)
    out = "".join(lines)
    left = sorted(set(re.findall(r"@[A-Z0-9_]+@", out)))
    if left:
        raise ValueError(f"{path(name)}: no value for {', '.join(left)}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="a file under pipelines/bench/ without .toml, or a path")
    ap.add_argument("--pcap")
    ap.add_argument("--hugepages", choices=["required", "off", "auto"])
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    a = ap.parse_args()
    try:
        text = render(a.name, a.pcap, a.hugepages)
    except (OSError, ValueError) as e:
        sys.exit(f"render: {e}")
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
