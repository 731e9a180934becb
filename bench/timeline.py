#!/usr/bin/env python3
"""Where does a pyrunc command spend its time? A timeline of its kill points and marks.

    sudo python3 bench/timeline.py [--runs 20] [--pyrunc PATH] run
    sudo python3 bench/timeline.py create-start     # create, then start, timed apart
    sudo python3 bench/timeline.py exec             # exec /bin/true into a running container

Each run sets ``PYRUNC_TEST_KILLPOINT=/file`` (pyrunc/testing.py): every kill point and
``testing.mark`` reached is logged with its pid and CLOCK_MONOTONIC time. The script takes the
time just before it spawns the command as zero, and prints, per point, the median offset over
the runs and the median step from the point before it (in the order of the medians), plus the
command's own end. Nothing here is a benchmark against other runtimes (bench/bench.py is):
this is for finding the slow step. The bundle is the demo busybox bundle with /bin/true (or
``sleep``) and a cgroupsPath under /pyrunc-timeline, removed at the end.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def make_bundle(tmp, args):
    b = os.path.join(tmp, "bundle")
    subprocess.run([os.path.join(REPO, "scripts", "make-bundle.sh"), b], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["process"]["args"] = args
    c["process"]["terminal"] = False
    c["linux"]["cgroupsPath"] = "/pyrunc-timeline/c"
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f)
    return b


def timed(argv, log, t0s):
    env = dict(os.environ, PYRUNC_TEST_KILLPOINT=log)
    # stderr to a file, not a pipe: a container created here inherits it and would hold
    # the pipe open (reading it to EOF would wait for the container)
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic_ns()
        r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        t1 = time.monotonic_ns()
        if r.returncode != 0:
            err.seek(0)
            sys.exit("%s failed: %s" % (" ".join(argv), err.read().strip()))
    t0s.append((t0, t1))


def read_points(log, t0, end, label):
    pts = [("%s:spawn" % label, 0.0)]
    seen = {}
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                name, _pid, ns = line.rsplit(None, 2)
                n = seen[name] = seen.get(name, 0) + 1
                key = name if n == 1 else "%s#%d" % (name, n)
                pts.append((key, (int(ns) - t0) / 1e6))
        os.unlink(log)
    pts.append(("%s:exited" % label, (end - t0) / 1e6))
    return pts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "create-start", "exec", "delete"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pyrunc", default=shutil.which("pyrunc") or "pyrunc")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyrunc-timeline-")
    root = os.path.join(tmp, "root")
    log = os.path.join(tmp, "points.log")
    rt = [a.pyrunc, "--root", root]
    samples = {}
    try:
        b = make_bundle(tmp, ["/bin/true"] if a.what == "run" else ["sleep", "1000"])
        for i in range(a.runs + 1):
            cid = "tl%d" % i
            runs = []
            steps = []
            if a.what == "run":
                steps.append(("run", rt + ["run", "--bundle", b, cid]))
            else:
                pre = [("create", rt + ["create", "--bundle", b, cid]),
                       ("start", rt + ["start", cid])]
                steps += pre if a.what == "create-start" else []
                if a.what in ("exec", "delete"):
                    subprocess.run(pre[0][1], check=True)
                    subprocess.run(pre[1][1], check=True)
                if a.what == "exec":
                    steps.append(("exec", rt + ["exec", cid, "/bin/true"]))
                if a.what == "delete":
                    steps.append(("delete", rt + ["delete", "-f", cid]))
            pts = []
            for label, argv in steps:
                t = []
                timed(argv, log, t)
                pts += [(k if k.startswith(label) else "%s/%s" % (label, k), v)
                        for k, v in read_points(log, t[0][0], t[0][1], label)]
            subprocess.run(rt + ["delete", "-f", cid], stderr=subprocess.DEVNULL)
            if i == 0:
                continue  # warm-up
            for k, v in pts:
                samples.setdefault(k, []).append(v)
        rows = sorted(((statistics.median(v), k) for k, v in samples.items()),
                      key=lambda r: (r[1].split("/")[0] != "create", r[0]))
        print("%-44s %9s %9s" % ("point (median over %d runs)" % a.runs, "at ms", "step ms"))
        prev = 0.0
        for med, k in rows:
            if k.endswith(":spawn"):
                prev = 0.0
            print("%-44s %9.2f %9.2f" % (k, med, med - prev))
            prev = med
    finally:
        subprocess.run(["sh", "-c", "for d in /sys/fs/cgroup/*/pyrunc-timeline/c "
                        "/sys/fs/cgroup/*/pyrunc-timeline; do rmdir $d 2>/dev/null; done"])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
