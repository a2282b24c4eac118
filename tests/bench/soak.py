#!/usr/bin/env python3
"""Soak test of `evident serve` under a mixed HTTP load. A soak/bench, kept
out of CI (`.ci/run` and `cargo test` never run it): it takes minutes, and
what it measures depends on the machine.

What it checks. It starts `evident serve --demo` on a free loopback port
with a fresh data directory and master key, makes a customer of the demo
tenant (entitled to `evidence-demo` `latest`) with an access token, a push
token and a portal session, then for --minutes runs, from several threads:

  * logged downloads of the demo export (most of the traffic; several
    threads, each on its own keep-alive connection): every answer must be
    200, carry the whole body and an `X-Evident-Log-Index` never seen before;
  * release pushes, one about every 5 s, each with a fresh tag (201);
  * the checkpoint, inclusion proofs and consistency proofs; each checkpoint
    must cover every index acknowledged before it was asked for, and every
    ~10 s the newest one is checked against the first with
    `evident-verify consistency`;
  * portal pages (`/t/demo/` and the release page) with the session cookie;
  * anonymous sign-in starts (`/t/demo/login?email=…`) at about the
    per-address rate limit (after one burst that empties the budget): their
    429s (with `Retry-After`) are EXPECTED and counted apart.

It samples the server's RSS (/proc/<pid>/status) every 10 s, and with it
RocksDB's block cache usage and capacity from /metrics (the cache holds the
memtables too, and fills to its fixed capacity over the first minutes).
Unexpected errors are any answer other than 2xx, the expected 429s and 303
redirects, and any exception. At the end it stops the server with SIGTERM
(it must exit 0), runs `evident log audit` (must be clean), prints and
writes (--out) JSON: per-kind counts, throughput, p50/p99 latency, the
unexpected errors, the RSS and cache series and a memory verdict. After the
warm-up (the first 2 minutes, or 20% of a shorter run) RSS is "flat" when
it grows by at most max(10 MiB, 10%); "bounded" when it grows more but RSS
less the cache meets that rule and the cache stays within its capacity (so
the growth is the cache filling); else "growing". Exit 1 on any unexpected
error, an unclean audit, a server that did not stop cleanly, or "growing".

How to run (build first):

    cargo build --bin evident            # the dev profile the tests use
    python3 tests/bench/soak.py --minutes 10 --out /tmp/soak.json
    # the release build:
    cargo build --release --bin evident
    python3 tests/bench/soak.py --bin $CARGO_TARGET_DIR/release/evident --out /tmp/soak-release.json

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
RELEASE = f"/api/v1/tenants/{TENANT}/products/evidence-demo/releases/v0.1.0"
DOWNLOAD = RELEASE + "/sbom?format=cyclonedx-json"
LOGIN_START = f"/t/{TENANT}/login?email=x@nobody.example"
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
            data = r.read()
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


def one_shot(port, method, path, token=None, body=None, headers=None, ctype="application/json"):
    h = dict(headers or {})
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


METRICS_TOKEN = "soak-metrics-token"


def store_cache_mib(port):
    """RocksDB's block cache usage and capacity (MiB) from /metrics, or None."""
    try:
        s, _, body = one_shot(port, "GET", "/metrics", METRICS_TOKEN)
    except OSError:
        return None
    if s != 200:
        return None
    got = {}
    for line in body.decode().splitlines():
        for name in ("evident_store_cache_bytes", "evident_store_cache_capacity_bytes"):
            if line.startswith(name + " "):
                got[name] = float(line.split()[1]) / (1 << 20)
    if len(got) != 2:
        return None
    return round(got["evident_store_cache_bytes"], 1), round(got["evident_store_cache_capacity_bytes"], 1)


def start_server(binary, data_dir, port, env, workdir, tag, extra=()):
    out = open(os.path.join(workdir, f"serve-{tag}.out"), "wb")
    err = open(os.path.join(workdir, f"serve-{tag}.err"), "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--data-dir", data_dir,
         "--listen", f"127.0.0.1:{port}", "--public-host", "soak.example", *extra],
        stdout=out, stderr=err, env=env,
    )
    out.close()
    err.close()
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.stderr.write(open(os.path.join(workdir, f"serve-{tag}.err")).read())
            raise SystemExit(f"soak: the server exited with {proc.returncode} at start")
        text = open(os.path.join(workdir, f"serve-{tag}.out")).read()
        if "EVIDENT_LISTENING" in text:
            try:
                s, _, _ = one_shot(port, "GET", "/healthz")
                if s == 200:
                    return proc, text
            except OSError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("soak: the server did not answer within 120 s")


def read_var(text, name):
    for line in text.splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1].strip()
    return None


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {}
        self.errors = []  # (time, kind, detail)
        self.error_count = 0

    def _k(self, kind):
        return self.kinds.setdefault(kind, {"ok": 0, "expected_429": 0, "redirect_303": 0,
                                            "unexpected": 0, "lat": []})

    def ok(self, kind, lat, status=200):
        with self.lock:
            k = self._k(kind)
            if status == 303:
                k["redirect_303"] += 1
            elif status == 429:
                k["expected_429"] += 1
            else:
                k["ok"] += 1
            k["lat"].append(lat)

    def error(self, kind, detail, lat=None):
        with self.lock:
            k = self._k(kind)
            k["unexpected"] += 1
            if lat is not None:
                k["lat"].append(lat)
            self.error_count += 1
            if len(self.errors) < 200:
                self.errors.append({"t": round(time.time(), 3), "kind": kind, "detail": detail[:500]})
        sys.stderr.write(f"soak: UNEXPECTED {kind}: {detail[:300]}\n")


def main():
    ap = argparse.ArgumentParser(description="Mixed-load soak of evident serve (not run in CI).")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--bin", default=default_bin())
    ap.add_argument("--verify-bin", default=None)
    ap.add_argument("--out", default=None, help="write the JSON report here")
    ap.add_argument("--download-threads", type=int, default=4)
    ap.add_argument("--push-every", type=float, default=5.0, help="seconds between pushes")
    ap.add_argument("--proof-rate", type=float, default=10.0, help="proof rounds per second")
    ap.add_argument("--portal-rate", type=float, default=5.0, help="portal pages per second")
    ap.add_argument("--sign-in-limit", type=int, default=60,
                    help="--rate-sign-in-per-address given to the server (per minute)")
    ap.add_argument("--login-factor", type=float, default=1.1,
                    help="anonymous sign-in starts per minute, as a multiple of the limit")
    ap.add_argument("--push-product", default="soak-app")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    binary = os.path.abspath(args.bin)
    verify_bin = find_verify(binary, args.verify_bin)
    for b in (binary, verify_bin):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"soak: no executable {b}")
    duration = args.minutes * 60.0
    warmup = min(120.0, 0.2 * duration)

    work = tempfile.mkdtemp(prefix="evident-soak.")
    data_dir = os.path.join(work, "data")
    env = dict(os.environ)
    env["EVIDENT_MASTER_KEY"] = os.urandom(32).hex()
    env.setdefault("EVIDENT_LOG", "warn")
    port = free_port()
    proc, out = start_server(binary, data_dir, port, env, work, "soak",
                             ["--rate-sign-in-per-address", str(args.sign_in_limit),
                              "--metrics-token", METRICS_TOKEN])
    print(f"soak: {binary} pid {proc.pid} on 127.0.0.1:{port}, data {data_dir}, "
          f"{args.minutes:g} min (warm-up {warmup:.0f} s)", flush=True)
    failures = []
    try:
        admin = read_var(out, "EVIDENT_DEMO_ADMIN_TOKEN")
        if not admin:
            raise SystemExit("soak: the demo tenant was not seeded")

        # Tenant data: a customer with a token, a push token, a portal session.
        s, _, d = one_shot(port, "POST", f"/api/v1/tenants/{TENANT}/customers", admin,
                           {"name": "Soak customer",
                            "entitlements": [{"product": "evidence-demo", "tag": "latest"}]})
        assert s == 201, (s, d)
        cid = json.loads(d)["id"]
        s, _, d = one_shot(port, "POST", f"/api/v1/tenants/{TENANT}/customers/{cid}/tokens", admin, {})
        assert s == 201, (s, d)
        ctok = json.loads(d)["token"]
        s, _, d = one_shot(port, "POST", f"/api/v1/tenants/{TENANT}/tokens", admin,
                           {"scope": "push", "label": "soak"})
        assert s == 201, (s, d)
        ptok = json.loads(d)["token"]
        s, h, d = one_shot(port, "POST", f"/t/{TENANT}/token-login", None,
                           ("token=" + ctok).encode(), ctype="application/x-www-form-urlencoded")
        assert s == 303 and "set-cookie" in h, (s, h, d)
        cookie = h["set-cookie"].split(";", 1)[0]
        assert cookie.startswith("evident_session="), cookie
        s, _, vkey = one_shot(port, "GET", f"/api/v1/tenants/{TENANT}/log/key", admin)
        assert s == 200
        vkey_file = os.path.join(work, "log.vkey")
        open(vkey_file, "wb").write(vkey)
        # The first download issues and caches the export.
        s, h, d = one_shot(port, "GET", DOWNLOAD, ctok)
        assert s == 200, (s, d[:300])
        export_len = len(d)
        sbom_b64 = base64.b64encode(open(FIXTURE, "rb").read()).decode()

        stats = Stats()
        stop = threading.Event()
        acked = set()
        acked_lock = threading.Lock()
        max_acked = [-1]
        run_id = os.urandom(3).hex()

        def ack(idx, kind):
            with acked_lock:
                if idx in acked:
                    stats.error(kind, f"log index {idx} acknowledged twice")
                acked.add(idx)
                if idx > max_acked[0]:
                    max_acked[0] = idx

        def pace(next_t, interval):
            next_t += interval
            delay = next_t - time.time()
            if delay > 0:
                stop.wait(delay)
            else:
                next_t = time.time()
            return next_t

        def downloader():
            c = Client(port)
            h = {"Authorization": "Bearer " + ctok}
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    s, hd, d = c.request("GET", DOWNLOAD, h)
                except Exception as e:  # noqa: BLE001
                    stats.error("download", f"exception {e!r}")
                    continue
                lat = time.perf_counter() - t0
                if s != 200:
                    stats.error("download", f"status {s}: {d[:200]!r}", lat)
                    continue
                idx = hd.get("x-evident-log-index")
                if idx is None or len(d) != export_len:
                    stats.error("download", f"index {idx}, {len(d)} bytes (expected {export_len})", lat)
                    continue
                ack(int(idx), "download")
                stats.ok("download", lat)
            c.close()

        def pusher():
            c = Client(port)
            h = {"Authorization": "Bearer " + ptok, "Content-Type": "application/json"}
            n = 0
            next_t = time.time()
            while not stop.is_set():
                n += 1
                tag = f"soak-{run_id}-{n}"
                body = json.dumps({
                    "product": args.push_product, "tag": tag,
                    "artefacts": [{"name": f"{tag}.tar.gz",
                                   "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest()}],
                    "sbom": {"content": sbom_b64, "encoding": "base64"},
                }).encode()
                t0 = time.perf_counter()
                try:
                    s, _, d = c.request("POST", f"/api/v1/tenants/{TENANT}/releases", h, body)
                    lat = time.perf_counter() - t0
                    if s != 201:
                        stats.error("push", f"status {s}: {d[:200]!r}", lat)
                    else:
                        ack(int(json.loads(d)["release"]["log_index"]), "push")
                        stats.ok("push", lat)
                except Exception as e:  # noqa: BLE001
                    stats.error("push", f"exception {e!r}")
                next_t = pace(next_t, args.push_every)
            c.close()

        def prover():
            c = Client(port)
            h = {"Authorization": "Bearer " + ptok}
            first_cp = None
            last_verify = time.time()
            next_t = time.time()
            while not stop.is_set():
                try:
                    with acked_lock:
                        covered = max_acked[0]
                    t0 = time.perf_counter()
                    s, _, cp = c.request("GET", f"/api/v1/tenants/{TENANT}/log/checkpoint", h)
                    lat = time.perf_counter() - t0
                    if s != 200:
                        stats.error("checkpoint", f"status {s}: {cp[:200]!r}", lat)
                        next_t = pace(next_t, 1.0 / args.proof_rate)
                        continue
                    size = int(cp.split(b"\n")[1])
                    if size <= covered:
                        stats.error("checkpoint", f"size {size} does not cover acknowledged index {covered}", lat)
                    else:
                        stats.ok("checkpoint", lat)
                    if first_cp is None:
                        first_cp = (size, cp)
                    i = random.randrange(size)
                    t0 = time.perf_counter()
                    s, _, d = c.request("GET", f"/api/v1/tenants/{TENANT}/log/proof/inclusion?index={i}&size={size}", h)
                    lat = time.perf_counter() - t0
                    if s == 200 and json.loads(d)["tree_size"] == size:
                        stats.ok("inclusion", lat)
                    else:
                        stats.error("inclusion", f"index {i} size {size}: status {s}: {d[:200]!r}", lat)
                    old = random.randrange(1, size + 1)
                    t0 = time.perf_counter()
                    s, _, d = c.request("GET", f"/api/v1/tenants/{TENANT}/log/proof/consistency?old={old}&new={size}", h)
                    lat = time.perf_counter() - t0
                    if s == 200:
                        stats.ok("consistency", lat)
                    else:
                        stats.error("consistency", f"old {old} new {size}: status {s}: {d[:200]!r}", lat)
                    if time.time() - last_verify >= 10 and size > first_cp[0]:
                        last_verify = time.time()
                        s, _, d = c.request("GET", f"/api/v1/tenants/{TENANT}/log/proof/consistency?old={first_cp[0]}&new={size}", h)
                        pf = os.path.join(work, "proof.json")
                        a = os.path.join(work, "old.cp")
                        b = os.path.join(work, "new.cp")
                        open(pf, "wb").write(d)
                        open(a, "wb").write(first_cp[1])
                        open(b, "wb").write(cp)
                        r = subprocess.run([verify_bin, "consistency", pf, "--key", vkey_file,
                                            "--old", a, "--new", b], capture_output=True)
                        if s != 200 or r.returncode != 0:
                            stats.error("verify", f"consistency {first_cp[0]}->{size}: {s} {r.stdout!r} {r.stderr!r}")
                        else:
                            stats.ok("verify", 0.0)
                except Exception as e:  # noqa: BLE001
                    stats.error("proofs", f"exception {e!r}")
                next_t = pace(next_t, 1.0 / args.proof_rate)
            c.close()

        def portal():
            c = Client(port)
            h = {"Cookie": cookie}
            pages = [f"/t/{TENANT}/", f"/t/{TENANT}/releases/evidence-demo/v0.1.0"]
            n = 0
            next_t = time.time()
            while not stop.is_set():
                page = pages[n % 2]
                n += 1
                t0 = time.perf_counter()
                try:
                    s, hd, d = c.request("GET", page, h)
                    lat = time.perf_counter() - t0
                    if 200 <= s < 300:
                        if b"evidence-demo" not in d:
                            stats.error("portal", f"{page}: 200 without the release: {d[:200]!r}", lat)
                        else:
                            stats.ok("portal", lat)
                    elif s == 303:
                        stats.ok("portal", lat, 303)
                        sys.stderr.write(f"soak: note: portal {page} redirected to {hd.get('location')}\n")
                    else:
                        stats.error("portal", f"{page}: status {s}: {d[:200]!r}", lat)
                except Exception as e:  # noqa: BLE001
                    stats.error("portal", f"exception {e!r}")
                next_t = pace(next_t, 1.0 / args.portal_rate)
            c.close()

        def login():
            # One burst empties the budget, then pace at about the limit.
            c = Client(port)

            def one():
                t0 = time.perf_counter()
                try:
                    s, hd, d = c.request("GET", LOGIN_START)
                    lat = time.perf_counter() - t0
                    if 200 <= s < 300 or s == 303:
                        stats.ok("login", lat, s)
                    elif s == 429:
                        if "retry-after" not in hd or b"rate_limited" not in d:
                            stats.error("login", f"429 without Retry-After or rate_limited: {hd} {d[:200]!r}", lat)
                        else:
                            stats.ok("login", lat, 429)
                    else:
                        stats.error("login", f"status {s}: {d[:200]!r}", lat)
                except Exception as e:  # noqa: BLE001
                    stats.error("login", f"exception {e!r}")

            for _ in range(args.sign_in_limit + 5):
                if stop.is_set():
                    break
                one()
            interval = 60.0 / (args.sign_in_limit * args.login_factor)
            next_t = time.time()
            while not stop.is_set():
                one()
                next_t = pace(next_t, interval)
            c.close()

        rss = []
        cache = []  # (t, RocksDB cache MiB, its capacity MiB), sampled with RSS
        t_start = time.time()

        def sampler():
            while True:
                try:
                    for line in open(f"/proc/{proc.pid}/status"):
                        if line.startswith("VmRSS:"):
                            kib = int(line.split()[1])
                            t = round(time.time() - t_start, 1)
                            rss.append((t, round(kib / 1024.0, 1)))
                            c = store_cache_mib(port)
                            if c:
                                cache.append((t, *c))
                            break
                except OSError:
                    pass
                if stop.wait(10):
                    break

        threads = [threading.Thread(target=downloader, name=f"dl{i}") for i in range(args.download_threads)]
        threads += [threading.Thread(target=f, name=f.__name__) for f in (pusher, prover, portal, login)]
        samp = threading.Thread(target=sampler, name="rss")
        samp.start()
        for t in threads:
            t.start()
        next_report = t_start + 60
        while time.time() < t_start + duration:
            time.sleep(max(0.0, min(1.0, t_start + duration - time.time())))
            if time.time() >= next_report:
                next_report += 60
                with stats.lock:
                    dl = stats.kinds.get("download", {}).get("ok", 0)
                print(f"soak: {time.time() - t_start:.0f} s: {dl} downloads, "
                      f"RSS {rss[-1][1] if rss else '?'} MiB, {stats.error_count} unexpected errors", flush=True)
            if proc.poll() is not None:
                failures.append(f"the server exited with {proc.returncode} during the run")
                break
        stop.set()
        for t in threads:
            t.join(120)
        elapsed = time.time() - t_start
        samp.join(15)
        # One last sample, at the end of the load.
        try:
            for line in open(f"/proc/{proc.pid}/status"):
                if line.startswith("VmRSS:"):
                    rss.append((round(time.time() - t_start, 1), round(int(line.split()[1]) / 1024.0, 1)))
        except OSError:
            pass

        s, _, cp = one_shot(port, "GET", f"/api/v1/tenants/{TENANT}/log/checkpoint", admin)
        final_size = int(cp.split(b"\n")[1]) if s == 200 else None
    finally:
        # Stop: SIGTERM, it must exit 0.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                failures.append("the server did not stop within 60 s of SIGTERM")
    if proc.returncode != 0:
        failures.append(f"the server exited with status {proc.returncode} after SIGTERM")

    audit = subprocess.run([binary, "log", "audit", "--data-dir", data_dir], env=env,
                           capture_output=True, text=True)
    audit_clean = audit.returncode == 0
    if not audit_clean:
        failures.append(f"evident log audit exited {audit.returncode}: {audit.stdout}{audit.stderr}")

    kinds = {}
    for name, k in sorted(stats.kinds.items()):
        lat = sorted(k["lat"])
        total = k["ok"] + k["expected_429"] + k["redirect_303"] + k["unexpected"]
        kinds[name] = {
            "requests": total,
            "ok_2xx": k["ok"],
            "expected_429": k["expected_429"],
            "redirect_303": k["redirect_303"],
            "unexpected": k["unexpected"],
            "per_second": round(total / elapsed, 2),
            "p50_ms": round(pct(lat, 50) * 1000, 2) if lat else None,
            "p99_ms": round(pct(lat, 99) * 1000, 2) if lat else None,
            "max_ms": round(lat[-1] * 1000, 2) if lat else None,
        }
    kinds.pop("verify", None)
    verify_ok = stats.kinds.get("verify", {}).get("ok", 0)

    def flatness(series):
        """Growth and slope after the warm-up of a [(t, MiB)] series."""
        after = [p for p in series if p[0] >= warmup]
        if len(after) < 2:
            return None
        base, end = after[0], after[-1]
        growth = end[1] - base[1]
        n = len(after)
        mx = sum(p[0] for p in after) / n
        my = sum(p[1] for p in after) / n
        den = sum((p[0] - mx) ** 2 for p in after)
        slope = (sum((p[0] - mx) * (p[1] - my) for p in after) / den * 60) if den else 0.0
        return {
            "after_warmup_mib": base[1],
            "end_mib": end[1],
            "max_mib": max(p[1] for p in series),
            "growth_mib": round(growth, 1),
            "growth_pct": round(100.0 * growth / base[1], 1) if base[1] else None,
            "slope_mib_per_min": round(slope, 2),
            "flat": growth <= max(10.0, 0.10 * base[1]),
        }

    # RSS is the bounded RocksDB cache (blocks and memtables, which fill it
    # over the first minutes of a run) plus everything else; the rest is
    # what must not grow.
    by_t = {t: m for t, m, _ in cache}
    rest = [(t, round(m - by_t[t], 1)) for t, m in rss if t in by_t]
    flat = None
    r = flatness(rss)
    if r:
        o = flatness(rest)
        cap = max((c for _, _, c in cache), default=None)
        within = bool(cache) and all(m <= c * 1.02 for _, m, c in cache)
        verdict = "flat" if r["flat"] else (
            "bounded" if o and o["flat"] and within else "growing")
        flat = {
            "warmup_s": round(warmup, 1),
            "rss": r,
            "rss_less_store_cache": o,
            "store_cache_max_mib": max((m for _, m, _ in cache), default=None),
            "store_cache_capacity_mib": cap,
            "store_cache_within_capacity": within,
            "verdict": verdict,
            "rule": "flat when RSS growth after warm-up <= max(10 MiB, 10%); bounded when "
                    "RSS less RocksDB's cache (sampled from /metrics) meets that rule and "
                    "the cache stays within its fixed capacity",
        }

    if flat and flat["verdict"] == "growing":
        failures.append("memory grows after the warm-up beyond the RocksDB cache filling to its capacity")

    report = {
        "binary": binary,
        "minutes": args.minutes,
        "elapsed_s": round(elapsed, 1),
        "threads": {"download": args.download_threads, "push": 1, "proofs": 1, "portal": 1, "login": 1},
        "sign_in_limit_per_min": args.sign_in_limit,
        "log_size_end": final_size,
        "acknowledged_log_indices": len(acked),
        "kinds": kinds,
        "consistency_verified_with_evident_verify": verify_ok,
        "unexpected_errors": stats.error_count,
        "unexpected_error_samples": stats.errors[:50],
        "rss_mib": [{"t_s": t, "mib": m} for t, m in rss],
        "store_cache_mib": [{"t_s": t, "mib": m, "capacity_mib": c} for t, m, c in cache],
        "rss_flatness": flat,
        "server_exit_status": proc.returncode,
        "audit_clean": audit_clean,
        "audit_output": (audit.stdout + audit.stderr)[-2000:],
        "failures": failures,
        "passed": not failures and stats.error_count == 0,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if report["passed"]:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        print("soak: PASS", flush=True)
        return 0
    print(f"soak: FAIL ({stats.error_count} unexpected errors; {failures}); kept {work}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
