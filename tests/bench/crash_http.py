#!/usr/bin/env python3
"""Crash test over HTTP: `kill -9` of `evident serve` under load, many times
over one data directory. A soak/bench, kept out of CI (`.ci/run` and `cargo
test` never run it; `tests/crash.rs` is the in-CI crash test of the log
store alone). This one covers the whole server: routing, authorisation, the
download and push paths, group commit, checkpoints and receipts.

What it checks. One data directory and one EVIDENT_MASTER_KEY for every
cycle. Each cycle starts `evident serve --demo` on a free loopback port (the
first cycle also makes a customer of the demo tenant with an access token,
and a push token; the tokens are kept in memory for later cycles), runs
download threads (keep-alive connections, rotating over the exports and the
NOTICE, so entries of different files differ), one push thread (fresh tag
each push) and one checkpoint thread for a random 1-4 s, then SIGKILLs the
server mid-load. Acknowledged means answered in full: every 200 download
(its `X-Evident-Log-Index` and the SHA-256 of the body received) and every
201 push (`release.log_index`). Every checkpoint text fetched is kept, and
each must cover every index acknowledged before it was asked for.

After every restart (and once more after the last cycle):
  * every acknowledged index is read back with `GET …/log/entries` (admin
    token, in batches of up to 1000): a download's entry must be
    `download_served` with `sha256` equal to the body's digest, a push's
    `release_pushed` with its product and tag;
  * receipts (`GET …/receipts/N`) of a random sample of up to 20 of the
    downloads acknowledged in the cycle just killed (always including the
    highest) must pass `evident-verify receipt --file <body> --log-key`;
  * every checkpoint seen in any earlier cycle must be consistent with the
    current one (`…/log/proof/consistency?old=M&new=N` checked by
    `evident-verify consistency --key --old --new`), and two checkpoints of
    one size must name the same root;
  * the log key is unchanged.
After each kill `evident log audit` runs on the stopped data directory and
must be clean; after the final checks the server is stopped with SIGTERM
and must exit 0. Prints a summary line; exit 1 on any failure.

How to run (build first):

    cargo build --bin evident --bin evident-verify   # the dev profile
    python3 tests/bench/crash_http.py --cycles 50
    # the release build:
    cargo build --release --bin evident
    python3 tests/bench/crash_http.py --cycles 50 --bin $CARGO_TARGET_DIR/release/evident

--bin defaults to $EVIDENT_BIN, else $CARGO_TARGET_DIR/debug/evident
(CARGO_TARGET_DIR defaults to /var/tmp/evident-target). evident-verify is
--verify-bin, else the one beside --bin, else $CARGO_TARGET_DIR/release or
/debug, else $PATH. Python 3.11 standard library only; Linux (/proc).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TENANT = "demo"
T = f"/api/v1/tenants/{TENANT}"
RELEASE = f"{T}/products/evidence-demo/releases/v0.1.0"
DOWNLOADS = [
    RELEASE + "/sbom?format=cyclonedx-json",
    RELEASE + "/sbom?format=spdx-json",
    RELEASE + "/sbom?format=cyclonedx-xml",
    RELEASE + "/sbom?format=spdx-tv",
    RELEASE + "/notice?format=text",
]
PRODUCT = "crash-app"
FIXTURE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "fixtures", "sboms", "cargo-sbom-evidence-demo.cdx-1.6.json",
)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def find_verify(binary, given):
    """evident-verify: --verify-bin, else beside the server binary, else the
    other profile's build in $CARGO_TARGET_DIR, else $PATH."""
    if given:
        return given
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/evident-target")
    for c in (os.path.join(os.path.dirname(binary), "evident-verify"),
              os.path.join(target, "release", "evident-verify"),
              os.path.join(target, "debug", "evident-verify"),
              shutil.which("evident-verify") or ""):
        if c and os.access(c, os.X_OK):
            return c
    return os.path.join(os.path.dirname(binary), "evident-verify")


def default_bin():
    if os.environ.get("EVIDENT_BIN"):
        return os.environ["EVIDENT_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/evident-target")
    return os.path.join(target, "debug", "evident")


class Client:
    """One keep-alive connection; reconnects after any failure."""

    def __init__(self, port, timeout=60):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, headers=None, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()  # raises IncompleteRead on a body cut short
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if r.will_close:
                self.close()
            return r.status, hdrs, data
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def one_shot(port, method, path, token=None, body=None, ctype="application/json"):
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        h["Content-Type"] = ctype
    c = Client(port)
    try:
        return c.request(method, path, h, body)
    finally:
        c.close()


def read_var(text, name):
    for line in text.splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1].strip()
    return None


def cp_size(text):
    return int(text.split(b"\n")[1])


def cp_root(text):
    return text.split(b"\n")[2]


class Run:
    def __init__(self, args):
        self.args = args
        self.binary = os.path.abspath(args.bin)
        self.verify_bin = find_verify(self.binary, args.verify_bin)
        for b in (self.binary, self.verify_bin):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"crash_http: no executable {b}")
        self.work = tempfile.mkdtemp(prefix="evident-crash-http.")
        self.data_dir = os.path.join(self.work, "data")
        self.bodies = os.path.join(self.work, "bodies")
        os.mkdir(self.bodies)
        self.env = dict(os.environ)
        self.env["EVIDENT_MASTER_KEY"] = os.urandom(32).hex()
        self.env.setdefault("EVIDENT_LOG", "warn")
        self.failures = []
        self.admin = self.ctok = self.ptok = None
        self.vkey = None
        self.vkey_file = os.path.join(self.work, "log.vkey")
        # index -> ("download", sha256 hex) | ("push", tag)
        self.acked = {}
        self.acked_lock = threading.Lock()
        self.max_acked = -1
        self.cycle_downloads = []  # downloads acknowledged in the current cycle
        self.checkpoints = {}  # size -> text, from earlier cycles and this one
        self.checkpoint_files = {}
        self.consistency_checks = 0
        self.receipts_verified = 0
        self.entries_checked = 0
        self.pushes = 0
        self.downloads = 0
        self.sbom_b64 = base64.b64encode(open(FIXTURE, "rb").read()).decode()
        self.run_id = os.urandom(3).hex()
        self.push_n = 0
        self.proc = None
        self.port = None

    def fail(self, msg):
        self.failures.append(msg)
        sys.stderr.write(f"crash_http: FAILURE: {msg}\n")

    # The server.

    def start(self, cycle):
        self.port = free_port()
        out_path = os.path.join(self.work, f"serve-{cycle}.out")
        err_path = os.path.join(self.work, f"serve-{cycle}.err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--demo", "--data-dir", self.data_dir,
                 "--listen", f"127.0.0.1:{self.port}", "--public-host", "crash.example"],
                stdout=out, stderr=err, env=self.env,
            )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"crash_http: cycle {cycle}: the server exited with "
                                 f"{self.proc.returncode} at start:\n{open(err_path).read()}")
            text = open(out_path).read()
            if "EVIDENT_LISTENING" in text:
                try:
                    if one_shot(self.port, "GET", "/healthz")[0] == 200:
                        return text
                except OSError:
                    pass
            time.sleep(0.1)
        self.proc.kill()
        raise SystemExit(f"crash_http: cycle {cycle}: the server did not answer within 120 s")

    def setup(self, out):
        self.admin = read_var(out, "EVIDENT_DEMO_ADMIN_TOKEN")
        if not self.admin:
            raise SystemExit("crash_http: the demo tenant was not seeded")
        p = self.port
        s, _, d = one_shot(p, "POST", f"{T}/customers", self.admin,
                           {"name": "Crash customer",
                            "entitlements": [{"product": "evidence-demo", "tag": "latest"}]})
        assert s == 201, (s, d)
        cid = json.loads(d)["id"]
        s, _, d = one_shot(p, "POST", f"{T}/customers/{cid}/tokens", self.admin, {})
        assert s == 201, (s, d)
        self.ctok = json.loads(d)["token"]
        s, _, d = one_shot(p, "POST", f"{T}/tokens", self.admin, {"scope": "push", "label": "crash"})
        assert s == 201, (s, d)
        self.ptok = json.loads(d)["token"]
        s, _, d = one_shot(p, "GET", f"{T}/log/key", self.admin)
        assert s == 200, (s, d)
        self.vkey = d
        open(self.vkey_file, "wb").write(d)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def audit(self, cycle):
        r = subprocess.run([self.binary, "log", "audit", "--data-dir", self.data_dir],
                           env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            self.fail(f"cycle {cycle}: evident log audit exited {r.returncode}: {r.stdout}{r.stderr}")
        return r

    # The load.

    def ack(self, idx, what):
        with self.acked_lock:
            if idx in self.acked:
                self.fail(f"log index {idx} acknowledged twice: {self.acked[idx]} and {what}")
            self.acked[idx] = what
            if idx > self.max_acked:
                self.max_acked = idx
            if what[0] == "download":
                self.cycle_downloads.append(idx)
                self.downloads += 1
            else:
                self.pushes += 1

    def load(self, cycle, seconds):
        killed = threading.Event()
        errors = []
        elock = threading.Lock()

        def err(msg):
            # Anything going wrong after the kill is the kill.
            if not killed.is_set():
                with elock:
                    errors.append(msg)

        def downloader(i):
            c = Client(self.port)
            h = {"Authorization": "Bearer " + self.ctok}
            n = i
            while not killed.is_set():
                path = DOWNLOADS[n % len(DOWNLOADS)]
                n += 1
                try:
                    s, hd, d = c.request("GET", path, h)
                except Exception as e:  # noqa: BLE001
                    err(f"download {path}: {e!r}")
                    continue
                if s != 200 or "x-evident-log-index" not in hd:
                    err(f"download {path}: status {s} {d[:200]!r}")
                    continue
                if "content-length" in hd and int(hd["content-length"]) != len(d):
                    err(f"download {path}: {len(d)} bytes of {hd['content-length']}")
                    continue
                digest = hashlib.sha256(d).hexdigest()
                f = os.path.join(self.bodies, digest)
                if not os.path.exists(f):
                    with open(f + f".{i}.tmp", "wb") as fh:
                        fh.write(d)
                    os.replace(f + f".{i}.tmp", f)
                self.ack(int(hd["x-evident-log-index"]), ("download", digest))
            c.close()

        def pusher():
            c = Client(self.port)
            h = {"Authorization": "Bearer " + self.ptok, "Content-Type": "application/json"}
            while not killed.is_set():
                self.push_n += 1
                tag = f"c{cycle}-{self.run_id}-{self.push_n}"
                body = json.dumps({
                    "product": PRODUCT, "tag": tag,
                    "artefacts": [{"name": f"{tag}.tar.gz",
                                   "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest()}],
                    "sbom": {"content": self.sbom_b64, "encoding": "base64"},
                }).encode()
                try:
                    s, _, d = c.request("POST", f"{T}/releases", h, body)
                except Exception as e:  # noqa: BLE001
                    err(f"push {tag}: {e!r}")
                    continue
                if s != 201:
                    err(f"push {tag}: status {s} {d[:200]!r}")
                    continue
                rel = json.loads(d)["release"]
                self.ack(int(rel["log_index"]), ("push", tag))
            c.close()

        def checkpointer():
            c = Client(self.port)
            h = {"Authorization": "Bearer " + self.ptok}
            while not killed.is_set():
                with self.acked_lock:
                    covered = self.max_acked
                try:
                    s, _, d = c.request("GET", f"{T}/log/checkpoint", h)
                except Exception as e:  # noqa: BLE001
                    err(f"checkpoint: {e!r}")
                    continue
                if s != 200:
                    err(f"checkpoint: status {s} {d[:200]!r}")
                    continue
                self.record_checkpoint(d, f"cycle {cycle}")
                if cp_size(d) <= covered:
                    err(f"checkpoint of size {cp_size(d)} does not cover acknowledged index {covered}")
                killed.wait(random.uniform(0.05, 0.3))
            c.close()

        threads = [threading.Thread(target=downloader, args=(i,)) for i in range(self.args.download_threads)]
        threads += [threading.Thread(target=pusher), threading.Thread(target=checkpointer)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        killed.set()  # before the kill: errors from here on are the kill's
        self.kill9()
        for t in threads:
            t.join(60)
        for e in errors[:20]:
            self.fail(f"cycle {cycle} before the kill: {e}")
        if len(errors) > 20:
            self.fail(f"cycle {cycle}: {len(errors) - 20} more errors before the kill")

    def record_checkpoint(self, text, where):
        size = cp_size(text)
        with self.acked_lock:
            prev = self.checkpoints.get(size)
            if prev is None:
                self.checkpoints[size] = text
            elif cp_root(prev) != cp_root(text):
                self.fail(f"{where}: two checkpoints of size {size} with different roots:\n"
                          f"{prev.decode()}\n{text.decode()}")

    # The checks after a restart.

    def check(self, cycle):
        p = self.port
        s, _, d = one_shot(p, "GET", f"{T}/log/key", self.admin)
        if s != 200 or d != self.vkey:
            self.fail(f"after cycle {cycle}: the log key changed or is unreadable: {s} {d[:200]!r}")
        s, _, cur = one_shot(p, "GET", f"{T}/log/checkpoint", self.admin)
        if s != 200:
            self.fail(f"after cycle {cycle}: checkpoint: {s} {cur[:200]!r}")
            return
        size = cp_size(cur)
        if self.acked and size <= self.max_acked:
            self.fail(f"after cycle {cycle}: the log has {size} entries, "
                      f"but index {self.max_acked} was acknowledged")

        # Every acknowledged entry, in batches of up to 1000 indices.
        ids = sorted(self.acked)
        c = Client(p)
        h = {"Authorization": "Bearer " + self.admin}
        i = 0
        while i < len(ids):
            start = ids[i]
            j = i
            while j < len(ids) and ids[j] < start + 1000:
                j += 1
            end = ids[j - 1] + 1
            s, _, d = c.request("GET", f"{T}/log/entries?start={start}&end={end}", h)
            if s != 200:
                self.fail(f"after cycle {cycle}: entries {start}..{end}: {s} {d[:200]!r}")
                i = j
                continue
            got = {e["index"]: e for e in json.loads(d)["entries"]}
            for idx in ids[i:j]:
                self.entries_checked += 1
                e = got.get(idx)
                kind, val = self.acked[idx]
                if e is None:
                    self.fail(f"after cycle {cycle}: acknowledged {kind} at index {idx} is missing")
                    continue
                ev = e["event"]["event"]
                if kind == "download":
                    if ev.get("kind") != "download_served" or ev.get("sha256") != val:
                        self.fail(f"after cycle {cycle}: index {idx}: expected download_served of "
                                  f"{val}, found {json.dumps(ev)[:300]}")
                elif ev.get("kind") != "release_pushed" or ev.get("tag") != val or ev.get("product") != PRODUCT:
                    self.fail(f"after cycle {cycle}: index {idx}: expected release_pushed of "
                              f"{PRODUCT} {val}, found {json.dumps(ev)[:300]}")
            i = j

        # Receipts: a sample of the downloads of the cycle just killed.
        dl = self.cycle_downloads
        sample = set()
        if dl and self.args.receipts > 0:
            sample = set(random.sample(dl, min(len(dl), self.args.receipts - 1)))
            sample.add(max(dl))
        for idx in sorted(sample):
            s, _, d = c.request("GET", f"{T}/receipts/{idx}", h)
            rf = os.path.join(self.work, "receipt.json")
            open(rf, "wb").write(d)
            body = os.path.join(self.bodies, self.acked[idx][1])
            r = subprocess.run([self.verify_bin, "receipt", rf, "--log-key", self.vkey_file,
                                "--file", body], capture_output=True, text=True)
            if s != 200 or r.returncode != 0:
                self.fail(f"after cycle {cycle}: receipt {idx}: {s} {r.stdout}{r.stderr}{d[:200]!r}")
            else:
                self.receipts_verified += 1
        self.cycle_downloads = []

        # Every checkpoint seen so far must be consistent with the current one.
        cur_file = os.path.join(self.work, "current.cp")
        open(cur_file, "wb").write(cur)
        pf = os.path.join(self.work, "proof.json")
        for old, text in sorted(self.checkpoints.items()):
            if old > size:
                self.fail(f"after cycle {cycle}: the log shrank: a checkpoint of size {old} was "
                          f"published, the current one has {size}")
                continue
            f = self.checkpoint_files.get(old)
            if f is None:
                f = os.path.join(self.work, f"cp-{old}")
                open(f, "wb").write(text)
                self.checkpoint_files[old] = f
            s, _, d = c.request("GET", f"{T}/log/proof/consistency?old={old}&new={size}", h)
            open(pf, "wb").write(d)
            r = subprocess.run([self.verify_bin, "consistency", pf, "--key", self.vkey_file,
                                "--old", f, "--new", cur_file], capture_output=True, text=True)
            self.consistency_checks += 1
            if s != 200 or r.returncode != 0:
                self.fail(f"after cycle {cycle}: checkpoint {old} -> {size}: {s} "
                          f"{r.stdout}{r.stderr}{d[:200]!r}")
        c.close()
        self.record_checkpoint(cur, f"after cycle {cycle}")
        return size


def main():
    ap = argparse.ArgumentParser(description="kill -9 crash test of evident serve over HTTP (not run in CI).")
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--bin", default=default_bin())
    ap.add_argument("--verify-bin", default=None)
    ap.add_argument("--download-threads", type=int, default=4)
    ap.add_argument("--receipts", type=int, default=20, help="receipts verified per cycle")
    ap.add_argument("--min-secs", type=float, default=1.0)
    ap.add_argument("--max-secs", type=float, default=4.0)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    run = Run(args)
    print(f"crash_http: {run.binary}, data {run.data_dir}, {args.cycles} cycles", flush=True)
    t0 = time.time()
    try:
        for cycle in range(args.cycles + 1):
            out = run.start(cycle)
            if cycle == 0:
                run.setup(out)
            else:
                tc = time.time()
                size = run.check(cycle - 1)
                print(f"crash_http: after cycle {cycle - 1}: log size {size}, {len(run.acked)} "
                      f"acknowledged, {len(run.checkpoints)} checkpoints, checks {time.time() - tc:.1f} s, "
                      f"{len(run.failures)} failures", flush=True)
            if cycle == args.cycles:
                break
            secs = random.uniform(args.min_secs, args.max_secs)
            before = len(run.acked)
            run.load(cycle, secs)
            print(f"crash_http: cycle {cycle}: killed after {secs:.2f} s, "
                  f"{len(run.acked) - before} acknowledged", flush=True)
            run.audit(cycle)
    finally:
        if run.proc is not None and run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
            try:
                run.proc.wait(60)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait()
                run.fail("the server did not stop within 60 s of SIGTERM")
            if run.proc.returncode != 0:
                run.fail(f"the server exited with {run.proc.returncode} after SIGTERM")
    run.audit("final")

    print(f"crash_http: {args.cycles} cycles in {time.time() - t0:.0f} s, "
          f"{len(run.acked)} acknowledged entries ({run.downloads} downloads, {run.pushes} pushes), "
          f"{run.entries_checked} entry checks, {run.receipts_verified} receipts verified, "
          f"{len(run.checkpoints)} distinct checkpoints, {run.consistency_checks} consistency checks, "
          f"{len(run.failures)} failures", flush=True)
    if run.failures:
        print(f"crash_http: FAIL; kept {run.work}", flush=True)
        return 1
    if not args.keep:
        shutil.rmtree(run.work, ignore_errors=True)
    print("crash_http: PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
