#!/usr/bin/env python3
"""A long fuzzing campaign against pyrunc's inputs (tests/security/fuzzlib.py has the rules).

    tests/security/fuzz_configs.py --n 10000 [--real 300] [--exec 100] [--cli 200] [--seed S]

``--n``: mutated and random config.json documents checked in-process (spec validation, and
load_bundle on raw bytes, including byte-level damage); ``--real``: how many of them are also
really created (and deleted) by ``pyrunc create``, made safe first; ``--exec``: mutated
process.json run with ``pyrunc exec --process``; ``--cli``: random command lines. Prints the
counts (inputs, ran, rejected with a one-line error, bugs) and every bug, and exits 1 if there
was one. Needs root for the real runs (``--real 0 --exec 0 --cli 0`` does without).
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))

from tests.security import fuzzlib  # noqa: E402


class Tally:
    def __init__(self, name):
        self.name = name
        self.counts = {"inputs": 0, "ran": 0, "rejected": 0, "bugs": 0, "skipped": 0}
        self.bugs = []

    def add(self, kind, detail, sample):
        self.counts["inputs"] += 1
        key = {"valid": "ran", "ran": "ran", "rejected": "rejected", "skipped": "skipped"}.get(
            kind, "bugs")
        self.counts[key] += 1
        if key == "bugs":
            self.bugs.append((detail, sample))

    def line(self):
        c = self.counts
        return "%-22s inputs %6d  ran/valid %6d  rejected (one line) %6d  bugs %d%s" % (
            self.name, c["inputs"], c["ran"], c["rejected"], c["bugs"],
            ("  (skipped %d)" % c["skipped"]) if c["skipped"] else "")


def _short(obj):
    try:
        s = json.dumps(obj)
    except (TypeError, ValueError):
        s = repr(obj)
    return s if len(s) < 600 else s[:600] + "..."


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="in-process config inputs")
    ap.add_argument("--real", type=int, default=None, help="real create runs (default n/40)")
    ap.add_argument("--exec", type=int, default=None, dest="execs",
                    help="real exec --process runs (default n/100)")
    ap.add_argument("--cli", type=int, default=None, help="command lines (default n/50)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=None,
                    help="stop each phase when this much wall time has gone")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.randrange(2 ** 32)
    real = a.n // 40 if a.real is None else a.real
    execs = a.n // 100 if a.execs is None else a.execs
    cli = a.n // 50 if a.cli is None else a.cli
    if (real or execs or cli) and os.geteuid() != 0:
        sys.exit("real runs need root (or pass --real 0 --exec 0 --cli 0)")
    rnd = random.Random(seed)
    random.seed(seed)
    ch = fuzzlib.RandomChooser(rnd)
    seeds = fuzzlib.load_seeds()
    procs = fuzzlib.process_seeds(seeds)
    print("seed %d; %d seed configs" % (seed, len(seeds)), flush=True)
    start = time.monotonic()
    deadline = (start + a.minutes * 60) if a.minutes else None

    def out_of_time():
        return deadline is not None and time.monotonic() > deadline

    tallies = []
    with tempfile.TemporaryDirectory(prefix="pyrunc-fuzz-") as work:
        # 1. in-process: validation of mutated / random config objects, load_bundle on bytes
        t_val, t_bytes = Tally("validate (in-process)"), Tally("load_bundle bytes")
        tallies += [t_val, t_bytes]
        bdir = os.path.join(work, "loadbundle")
        os.makedirs(os.path.join(bdir, "rootfs"))
        real_candidates = []
        for i in range(a.n):
            if i % 10 == 0:
                cfg = fuzzlib.random_json(ch)
                if rnd.random() < 0.5:
                    cfg = {k: fuzzlib.random_json(ch) for k in rnd.sample(fuzzlib.KEYS, 4)}
            else:
                cfg = fuzzlib.mutate(ch, rnd.choice(seeds), seeds)
            res = fuzzlib.check_validation(cfg)
            t_val.add(res.split(":")[0] if res.startswith("BUG") else res, res, cfg)
            if res == "valid" and len(real_candidates) < 5 * max(real, 1):
                real_candidates.append(cfg)
            elif res == "rejected" and rnd.random() < 0.05 and len(real_candidates) < \
                    5 * max(real, 1):
                real_candidates.append(cfg)  # some invalid ones through the CLI too
            if i % 4 == 0:
                try:
                    raw = json.dumps(cfg).encode()
                except (TypeError, ValueError):
                    raw = b"{}"
                if rnd.random() < 0.5:
                    raw = fuzzlib.mutate_bytes(ch, raw)
                res = fuzzlib.check_load_bytes(bdir, raw)
                t_bytes.add(res.split(":")[0] if res.startswith("BUG") else res, res, raw[:300])
            if out_of_time():
                break
        print(t_val.line(), flush=True)
        print(t_bytes.line(), flush=True)

        if real or execs or cli:
            box = fuzzlib.Sandbox(os.path.join(work, "box"))
            try:
                # 2. real create + delete of made-safe configs
                t = Tally("create (real)")
                tallies.append(t)
                deadline2 = (time.monotonic() + a.minutes * 60) if a.minutes else None
                for i in range(real):
                    if not real_candidates:
                        break
                    cfg = real_candidates[i % len(real_candidates)]
                    if i >= len(real_candidates):
                        cfg = fuzzlib.mutate(ch, cfg, seeds)
                    o = box.run_config(cfg)
                    t.add(o.kind, o.detail, cfg)
                    if deadline2 and time.monotonic() > deadline2:
                        break
                print(t.line(), flush=True)
                # 3. exec --process with mutated process objects
                t = Tally("exec --process (real)")
                tallies.append(t)
                deadline3 = (time.monotonic() + a.minutes * 60) if a.minutes else None
                for i in range(execs):
                    p = fuzzlib.mutate(ch, rnd.choice(procs), procs) if rnd.random() < 0.9 \
                        else fuzzlib.random_json(ch)
                    o = box.run_process(p)
                    t.add(o.kind, o.detail, p)
                    if deadline3 and time.monotonic() > deadline3:
                        break
                print(t.line(), flush=True)
                # 4. command lines
                t = Tally("command lines (real)")
                tallies.append(t)
                flags = fuzzlib._command_flags()
                deadline4 = (time.monotonic() + a.minutes * 60) if a.minutes else None
                for i in range(cli):
                    target = box.ensure_target()
                    argv = fuzzlib.random_argv(ch, flags, target)
                    o = box.run_argv(argv)
                    t.add(o.kind, o.detail, argv)
                    if deadline4 and time.monotonic() > deadline4:
                        break
                print(t.line(), flush=True)
            finally:
                box.close()

    total = {k: sum(t.counts[k] for t in tallies) for k in tallies[0].counts}
    print("TOTAL: inputs %d, ran/valid %d, rejected with a one-line error %d, bugs %d "
          "(%.0f s)" % (total["inputs"], total["ran"], total["rejected"], total["bugs"],
                        time.monotonic() - start))
    seen = set()
    for t in tallies:
        for detail, sample in t.bugs:
            key = (t.name, detail[:120])
            if key in seen:
                continue
            seen.add(key)
            print("BUG [%s] %s\n    input: %s" % (t.name, detail, _short(sample)))
    return 1 if total["bugs"] else 0


if __name__ == "__main__":
    sys.exit(main())
