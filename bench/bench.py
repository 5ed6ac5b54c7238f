#!/usr/bin/env python3
"""tokenvault benchmark orchestrator (run through bench/run, which builds the release binary).

Parts, on PostgreSQL (fresh database) and on SQLite:
  1. GET of fresh credentials over random users: wrk, 64 connections (requests/s, p50, p99, errors),
     first with the read cache cold (right after the stores), then warm; the cache's hit ratio and
     size from /metrics; p99 over the mean latency Little's law gives at that throughput
  2. the limit: pgbench -S -M prepared, same clients and duration, same PostgreSQL (tps)
  3. POST (store/replace): wrk, 16 connections (requests/s, p99, errors)
  4. refresh storm (PostgreSQL): one credential inside the refresh window, a mock provider answering
     after 200 ms, N concurrent GETs split over two instances (provider calls, statuses, p99)
  5. peak RSS of the server during (1), start-up time to ready on an empty database
  6. a burst: GET with 1024 connections (errors must be 0: a busy pool is queued, not refused)
  7. refresh ahead (PostgreSQL): N credentials expiring in 5 minutes, two instances scanning every
     second with the default concurrency, a mock provider answering after 50 ms (credentials
     refreshed per second, provider calls per credential: must be 1)
  8. webhook latency (PostgreSQL): credentials stored one by one, a local receiver; the time from
     the store's answer to the delivery's arrival (p50, p99)
  9. rotate-key (PostgreSQL): 100 000 credentials (the stored ones topped up with legacy
     ciphertexts in bulk) re-encrypted to a new key by `tokenvault rotate-key` (seconds)
  10. proxy (PostgreSQL): the same small GET direct to a local API (examples/bench-upstream)
     and through the proxy, 64 connections (added p50/p99, throughput ratio), and peak RSS while
     200 MB stream through
Prints a table and writes JSON to bench/results/latest.json (quick.json with --quick).
`--soak [MINUTES]` runs bench/soak.py instead: two instances, a rotating provider, a database
outage, RSS over time (bench/results/soak.json).
"""

import argparse
import http.client
import http.server
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BENCH_BINARY runs another build (an A/B of two commits) instead of this one.
BINARY = Path(os.environ["BENCH_BINARY"]) if os.environ.get("BENCH_BINARY") else ROOT / "target" / "release" / "tokenvault"
RESULTS = ROOT / "bench" / "results"


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gen_key():
    return subprocess.run([str(BINARY), "gen-key"], check=True, capture_output=True, text=True).stdout.strip()


class Server:
    """One tokenvault process."""

    def __init__(self, database_url, enc_key, admin_key, extra_env=None):
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENVAULT_")}
        env.update({
            "DATABASE_URL": database_url,
            "SECRET_TOKEN_ENC_KEY": enc_key,
            "TOKENVAULT_BOOTSTRAP_API_KEY": admin_key,
            "TOKENVAULT_BIND": self.url,
            "TOKENVAULT_LOG": "warn",
        })
        # BENCH_READ_CACHE=false: the same build with its read cache off (an A/B of the cache).
        if os.environ.get("BENCH_READ_CACHE"):
            env["TOKENVAULT_READ_CACHE"] = os.environ["BENCH_READ_CACHE"]
        env.update(extra_env or {})
        self.log_file = tempfile.TemporaryFile()
        started = time.perf_counter()
        self.proc = subprocess.Popen([str(BINARY), "serve"], env=env, cwd=tempfile.gettempdir(),
                                     stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.startup_s = self._wait_ready(started)

    def _wait_ready(self, started):
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                self.log_file.seek(0)
                raise SystemExit(f"tokenvault exited: {self.log_file.read().decode(errors='replace')}")
            try:
                conn = http.client.HTTPConnection(self.url, timeout=1)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.002)
        raise SystemExit("tokenvault did not become ready within 30 s")

    def reset_peak_rss(self):
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            pass

    def peak_rss_mb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def request(url, method, path, key, body=None, timeout=30):
    conn = http.client.HTTPConnection(url, timeout=timeout)
    headers = {"X-API-Key": key}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def seed(url, key, users, threads=16):
    """Stores 3 credentials per user (oauth2 not expiring soon, api_key, jwt-like api_key)."""
    expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    bodies = [
        {"integration_key": "google", "provider": "google", "token_type": "oauth2",
         "token_data": {"access_token": "ya29.bench", "refresh_token": "1//bench", "token_type": "Bearer"},
         "scopes": ["calendar"], "expires_at": expires_at},
        {"integration_key": "openai", "provider": "openai", "token_type": "api_key",
         "token_data": {"api_key": "sk-bench"}},
        {"integration_key": "github-pat", "provider": "github", "token_type": "api_key",
         "token_data": {"api_key": "ghp_bench"}},
    ]
    failures = []

    def worker(start):
        conn = http.client.HTTPConnection(url, timeout=30)
        for user in range(start, users, threads):
            for body in bodies:
                conn.request("POST", f"/v2/users/u{user:05d}/tokens", body=json.dumps(body),
                             headers={"X-API-Key": key, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                if response.status not in (200, 201):
                    failures.append(response.status)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise SystemExit(f"seeding failed: {len(failures)} errors, e.g. HTTP {failures[0]}")
    return time.perf_counter() - started


def wrk(script, url, connections, seconds, key, users, extra_env=None):
    env = dict(os.environ, BENCH_KEY=key, BENCH_USERS=str(users), LUA_PATH=str(ROOT / "bench" / "?.lua") + ";;")
    env.update(extra_env or {})
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(ROOT / "bench" / script), f"http://{url}"],
        check=True, capture_output=True, text=True, env=env).stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))
    data = json.loads(line[len("BENCH_JSON "):])
    errors = sum(v for k, v in data.items() if k.startswith("errors_"))
    return {
        "rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": round(data["p50_us"] / 1000, 3),
        "p99_ms": round(data["p99_us"] / 1000, 3),
        "max_ms": round(data["max_us"] / 1000, 3),
        "requests": data["requests"],
        "errors": errors,
        # Which kind, when there are any (connect, read, write, status = non-2xx, timeout).
        "error_kinds": {k[len("errors_"):]: v for k, v in data.items()
                        if k.startswith("errors_") and v},
    }


UPSTREAM = ROOT / "target" / "release" / "examples" / "bench-upstream"


def proxy_part(database_url, enc_key, admin_key, seconds):
    """The same GET direct to a local provider API and through tokenvault's proxy, 64
    connections each: requests/s, p50, p99, the latency the proxy adds and the throughput
    ratio; then tokenvault's peak RSS while 200 MB stream through it."""
    upstream = subprocess.Popen([str(UPSTREAM)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(upstream.stdout.readline().split()[1])
        providers = Path(tempfile.mkdtemp(prefix="tokenvault-bench-proxy-")) / "providers.toml"
        providers.write_text(
            '[benchapi]\ndocs_url = "https://example.com/docs"\ndisplay_name = "Bench API"\ntoken_types = ["api_key"]\n'
            f'env_var = "BENCH_API_KEY"\napi_base_url = "http://127.0.0.1:{port}"\n')
        server = Server(database_url, enc_key, admin_key,
                        {"PROVIDERS_FILE": str(providers),
                         "TOKENVAULT_OUTBOUND_ALLOW_PRIVATE": "true"})
        try:
            body = {"integration_key": "benchapi", "provider": "benchapi", "token_type": "api_key",
                    "token_data": {"api_key": "bench-upstream-key"}}
            status, answer = request(server.url, "POST", "/v2/users/proxy-user/tokens", admin_key, body)
            if status not in (200, 201):
                raise SystemExit(f"proxy part: store failed: {status} {answer[:200]!r}")
            through = "/v2/users/proxy-user/proxy/benchapi/item"
            status, answer = request(server.url, "GET", through, admin_key)
            if status != 200:
                raise SystemExit(f"proxy part: a proxied GET failed: {status} {answer[:200]!r}")
            upstream_url = f"127.0.0.1:{port}"
            direct = wrk("path.lua", upstream_url, 64, seconds, "", 1, {"BENCH_PATH": "/item"})
            proxied = wrk("path.lua", server.url, 64, seconds, admin_key, 1, {"BENCH_PATH": through})
            # The same credential read with a GET: what the proxy adds to tokenvault's own work.
            get = wrk("path.lua", server.url, 64, seconds, admin_key, 1,
                      {"BENCH_PATH": "/v2/users/proxy-user/tokens/benchapi"})
            # Unloaded (one connection): the latency the extra hop adds, without queueing.
            direct_1 = wrk("path.lua", upstream_url, 1, seconds, "", 1, {"BENCH_PATH": "/item"})
            proxied_1 = wrk("path.lua", server.url, 1, seconds, admin_key, 1, {"BENCH_PATH": through})
            rss_before = server.peak_rss_mb()
            server.reset_peak_rss()
            started = time.perf_counter()
            conn = http.client.HTTPConnection(server.url, timeout=60)
            conn.request("GET", "/v2/users/proxy-user/proxy/benchapi/big?mb=200",
                         headers={"X-API-Key": admin_key})
            response = conn.getresponse()
            streamed = 0
            while chunk := response.read(256 * 1024):
                streamed += len(chunk)
            stream_s = time.perf_counter() - started
            result = {
                "direct": direct,
                "proxied": proxied,
                "get_same_credential": get,
                "proxied_to_get": round(proxied["rps"] / get["rps"], 3) if get["rps"] else None,
                "direct_1conn": direct_1,
                "proxied_1conn": proxied_1,
                "added_p50_ms_1conn": round(proxied_1["p50_ms"] - direct_1["p50_ms"], 3),
                "added_p99_ms_1conn": round(proxied_1["p99_ms"] - direct_1["p99_ms"], 3),
                "added_p50_ms": round(proxied["p50_ms"] - direct["p50_ms"], 3),
                "added_p99_ms": round(proxied["p99_ms"] - direct["p99_ms"], 3),
                "throughput_ratio": round(proxied["rps"] / direct["rps"], 3) if direct["rps"] else None,
                "stream_mb": round(streamed / 1024 / 1024, 1),
                "stream_mb_per_s": round(streamed / 1024 / 1024 / stream_s, 1),
                "stream_status": response.status,
                "peak_rss_mb_streaming": round(server.peak_rss_mb(), 1),
                "peak_rss_mb_before_stream": round(rss_before, 1),
            }
        finally:
            server.stop()
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    return result


def cache_counts(url):
    """The read cache's lookups by result and its size, from /metrics."""
    conn = http.client.HTTPConnection(url, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    counts = {}
    for line in text.splitlines():
        m = re.match(r'tokenvault_read_cache_lookups_total\{result="(\w+)"\} (\S+)', line)
        if m:
            counts[m.group(1)] = float(m.group(2))
        m = re.match(r'tokenvault_read_cache_(entries|bytes) (\S+)', line)
        if m:
            counts[m.group(1)] = float(m.group(2))
    return counts


def cache_delta(before, after):
    hits = after.get("hit", 0) - before.get("hit", 0)
    reads = hits + after.get("miss", 0) - before.get("miss", 0) \
        + after.get("bypassed", 0) - before.get("bypassed", 0)
    return {"hit_ratio": round(hits / reads, 4) if reads else None,
            "entries": int(after.get("entries", 0)),
            "mb": round(after.get("bytes", 0) / 1e6, 1)}


def pgbench(pg_base, database, clients, seconds):
    url = f"{pg_base}/{database}"
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-S", "-M", "prepared", "-c", str(clients), "-j", "2",
                          "-T", str(seconds), url], check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    return float(match.group(1)) if match else None


class MockProvider:
    """An OAuth token endpoint answering after a delay, counting calls."""

    def __init__(self, delay_s):
        self.calls = 0
        self.per_token = {}
        self.lock = threading.Lock()
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body_text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = dict(p.split("=", 1) for p in body_text.split("&") if "=" in p)
                with mock.lock:
                    mock.calls += 1
                    n = mock.calls
                    token = form.get("refresh_token", "")
                    mock.per_token[token] = mock.per_token.get(token, 0) + 1
                time.sleep(delay_s)
                body = json.dumps({"access_token": f"ya29.storm-{n}", "expires_in": 3600,
                                   "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def refresh_storm(database_url, enc_key, admin_key, requests_total):
    mock = MockProvider(0.2)
    providers = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    providers.write(f'[google]\ntoken_url = "{mock.url}/token"\n')
    providers.close()
    # The storm measures GETs: no background refresh gets there first.
    env = {"PROVIDERS_FILE": providers.name, "TOKENVAULT_BACKGROUND_REFRESH": "false"}
    servers = [Server(database_url, enc_key, admin_key, env) for _ in range(2)]
    try:
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        status, _ = request(servers[0].url, "POST", "/v2/users/storm/tokens", admin_key, {
            "integration_key": "google", "provider": "google", "token_type": "oauth2",
            "token_data": {"access_token": "ya29.old", "refresh_token": "1//storm",
                           "client_id": "bench", "client_secret": "bench"},
            "expires_at": expires_at})
        assert status in (200, 201), status
        barrier = threading.Barrier(requests_total)
        results = []
        lock = threading.Lock()

        def one(i):
            url = servers[i % 2].url
            conn = http.client.HTTPConnection(url, timeout=30)
            barrier.wait()
            started = time.perf_counter()
            try:
                conn.request("GET", "/v2/users/storm/tokens/google", headers={"X-API-Key": admin_key})
                response = conn.getresponse()
                body = json.loads(response.read())
                ok = response.status == 200 and body["token_data"]["access_token"].startswith("ya29.storm-")
            except Exception:  # noqa: BLE001 - any failure counts as an error
                ok = False
            with lock:
                results.append((ok, time.perf_counter() - started))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(requests_total)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies = sorted(lat for _, lat in results)
        return {
            "requests": requests_total,
            "provider_calls": mock.calls,
            "errors": sum(1 for ok, _ in results if not ok),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        }
    finally:
        for s in servers:
            s.stop()
        mock.stop()
        os.unlink(providers.name)


def refresh_ahead(database_url, enc_key, admin_key, count, pg):
    mock = MockProvider(0.05)
    providers = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    providers.write(f'[google]\ntoken_url = "{mock.url}/token"\n')
    providers.close()
    env = {"PROVIDERS_FILE": providers.name, "TOKENVAULT_BACKGROUND_REFRESH": "false"}
    seeder = Server(database_url, enc_key, admin_key, env)
    try:
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
        conn = http.client.HTTPConnection(seeder.url, timeout=30)
        for i in range(count):
            conn.request("POST", f"/v2/users/ahead{i:05d}/tokens", headers={
                "X-API-Key": admin_key, "Content-Type": "application/json"}, body=json.dumps({
                    "integration_key": "google", "provider": "google", "token_type": "oauth2",
                    "token_data": {"access_token": "ya29.old", "refresh_token": f"1//ahead-{i}",
                                   "client_id": "bench", "client_secret": "bench"},
                    "expires_at": expires_at}))
            response = conn.getresponse()
            response.read()
            assert response.status in (200, 201), response.status
    finally:
        seeder.stop()
    pg_base, database = pg
    # A store schedules the first background look halfway through the token's life (150 s
    # here); the bench measures the refresher, so every credential is made due now, as if it
    # had been stored 150 s ago.
    subprocess.run(["psql", f"{pg_base}/{database}", "-qtAc",
                    "UPDATE tokens SET background_at = 0 WHERE user_id LIKE 'ahead%'"],
                   check=True, capture_output=True, text=True)
    env.update({"TOKENVAULT_BACKGROUND_REFRESH": "true", "TOKENVAULT_REFRESH_SCAN_SECS": "1"})
    started = time.perf_counter()
    servers = [Server(database_url, enc_key, admin_key, env) for _ in range(2)]
    query = ("SELECT count(*) FROM tokens WHERE user_id LIKE 'ahead%' "
             "AND expires_at > (now() AT TIME ZONE 'utc') + interval '30 minutes'")
    try:
        deadline = started + 300
        done = 0
        while done < count and time.perf_counter() < deadline:
            time.sleep(0.05)
            out = subprocess.run(["psql", f"{pg_base}/{database}", "-tAc", query],
                                 check=True, capture_output=True, text=True).stdout
            done = int(out.strip() or 0)
        took = time.perf_counter() - started
        time.sleep(2)  # two more scans: nothing may be refreshed again
        return {
            "credentials": count,
            "refreshed": done,
            "seconds": round(took, 2),
            "per_second": round(done / took, 1),
            "provider_calls": mock.calls,
            "max_calls_per_credential": max(mock.per_token.values(), default=0),
        }
    finally:
        for s in servers:
            s.stop()
        mock.stop()
        os.unlink(providers.name)


def webhook_latency(database_url, enc_key, admin_key, events):
    arrivals = {}
    lock = threading.Lock()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                arrivals.setdefault(body["data"]["user_id"], time.perf_counter())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {"TOKENVAULT_WEBHOOK_ALLOW_PRIVATE": "true", "TOKENVAULT_BACKGROUND_REFRESH": "false"}
    server = Server(database_url, enc_key, admin_key, env)
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        status, _ = request(server.url, "POST", "/v2/webhooks", admin_key,
                            {"url": url, "events": ["credential.connected"]})
        assert status == 201, status
        stored = {}
        for i in range(events):
            user = f"hook{i:04d}"
            status, _ = request(server.url, "POST", f"/v2/users/{user}/tokens", admin_key, {
                "integration_key": "openai", "provider": "openai", "token_type": "api_key",
                "token_data": {"api_key": "sk-bench"}})
            stored[user] = time.perf_counter()
            assert status in (200, 201), status
            time.sleep(0.05)
        deadline = time.perf_counter() + 30
        while len(arrivals) < events and time.perf_counter() < deadline:
            time.sleep(0.05)
        latencies = sorted(arrivals[u] - t for u, t in stored.items() if u in arrivals)
        return {
            "events": events,
            "delivered": len(latencies),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
            "p99_ms": round(latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000, 1)
            if latencies else None,
        }
    finally:
        server.stop()
        receiver.shutdown()


def psql(pg_base, sql):
    subprocess.run(["psql", f"{pg_base}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, capture_output=True)


def run_backend(name, database_url, args, enc_key, admin_key, pg=None):
    log(f"{name}: start-up on an empty database")
    server = Server(database_url, enc_key, admin_key)
    result = {"startup_ms": round(server.startup_s * 1000, 1)}
    try:
        log(f"{name}: seeding {args.users} users x 3 credentials")
        result["seed_s"] = round(seed(server.url, admin_key, args.users), 1)
        server.reset_peak_rss()
        # Cold: the read cache holds nothing after the stores; warm: every credential read once.
        before = cache_counts(server.url)
        log(f"{name}: GET (cold read cache), 64 connections, {args.seconds}s")
        result["get_cold"] = wrk("get.lua", server.url, 64, args.seconds, admin_key, args.users)
        result["get_cold"]["cache"] = cache_delta(before, cache_counts(server.url))
        before = cache_counts(server.url)
        log(f"{name}: GET (warm), 64 connections, {args.seconds}s")
        result["get"] = wrk("get.lua", server.url, 64, args.seconds, admin_key, args.users)
        result["get"]["cache"] = cache_delta(before, cache_counts(server.url))
        # Little's law: 64 connections at this throughput spend this long per request on average.
        mean_ms = 64 / result["get"]["rps"] * 1000 if result["get"]["rps"] else None
        result["get"]["p99_to_little_mean"] = round(result["get"]["p99_ms"] / mean_ms, 2) if mean_ms else None
        result["peak_rss_mb"] = round(server.peak_rss_mb(), 1)
        log(f"{name}: GET, 1024 connections, {args.seconds}s")
        result["burst"] = wrk("get.lua", server.url, 1024, args.seconds, admin_key, args.users)
        log(f"{name}: POST, 16 connections, {args.seconds}s")
        result["post"] = wrk("post.lua", server.url, 16, args.seconds, admin_key, args.users)
    finally:
        server.stop()
    if pg:
        pg_base, database = pg
        log(f"{name}: pgbench -S -M prepared, 64 clients, {args.seconds}s")
        tps = pgbench(pg_base, database, 64, args.seconds)
        result["pgbench_tps"] = tps
        result["get_to_pgbench"] = round(result["get"]["rps"] / tps, 3) if tps else None
        log(f"{name}: proxy: the same GET direct and through the proxy, 64 connections, {args.seconds}s each")
        result["proxy"] = proxy_part(database_url, enc_key, admin_key, args.seconds)
        log(f"{name}: refresh storm, {args.storm} GETs over two instances")
        result["storm"] = refresh_storm(database_url, enc_key, admin_key, args.storm)
        log(f"{name}: refresh ahead, {args.ahead} credentials, two instances")
        result["ahead"] = refresh_ahead(database_url, enc_key, admin_key, args.ahead, pg)
        log(f"{name}: webhook latency, {args.hooks} events")
        result["webhooks"] = webhook_latency(database_url, enc_key, admin_key, args.hooks)
        log(f"{name}: rotate-key over {args.rotate} credentials")
        result["rotate_key"] = rotate_key(database_url, enc_key, pg, args.rotate)
    return result


def rotate_key(database_url, enc_key, pg, rows):
    """`tokenvault rotate-key` to a new key over `rows` credentials: the bound rows the earlier
    parts stored, topped up with legacy ciphertexts (bare Fernet of the token data, as the
    original service wrote them) inserted in bulk. Seconds for the whole run."""
    from cryptography.fernet import Fernet
    pg_base, database = pg
    legacy = Fernet(enc_key.encode()).encrypt(b'{"api_key": "sk-BENCH-LEGACY"}').decode()
    count_sql = "SELECT count(*) FROM tokens"
    have = int(subprocess.run(["psql", f"{pg_base}/{database}", "-tAc", count_sql], check=True,
                              capture_output=True, text=True).stdout.strip())
    top_up = max(0, rows - have)
    subprocess.run(["psql", f"{pg_base}/{database}", "-v", "ON_ERROR_STOP=1", "-qc",
                    "INSERT INTO tokens (tenant, user_id, integration_key, provider, token_type, "
                    "ciphertext, status, version, created_at, updated_at, refresh_failures) "
                    f"SELECT 'default', 'rotate-' || g, 'openai', 'openai', 'api_key', '{legacy}', "
                    f"'active', 1, now(), now(), 0 FROM generate_series(1, {top_up}) g"],
                   check=True, capture_output=True)
    new_key = gen_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENVAULT_")}
    env.update({"DATABASE_URL": database_url, "SECRET_TOKEN_ENC_KEY": f"{new_key},{enc_key}",
                "TOKENVAULT_LOG": "warn"})
    started = time.perf_counter()
    out = subprocess.run([str(BINARY), "rotate-key"], env=env, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"rotate-key failed: {out.stderr[-2000:]}")
    m = re.search(r"(\d+) of (\d+) rows visited: (\d+) re-encrypted", out.stdout)
    return {"rows": int(m.group(2)) if m else None,
            "reencrypted": int(m.group(3)) if m else None,
            "seconds": round(took, 2),
            "rows_per_second": round(int(m.group(3)) / took) if m and took else None}


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem_kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines()
                      if l.startswith("MemTotal")))
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "postgresql_client": pg}


def table(results):
    rows = [("", "PostgreSQL", "SQLite")]
    pg, lite = results["postgres"], results["sqlite"]

    def both(fn):
        return (fn(pg), fn(lite))

    def fmt(v):
        return "-" if v is None else str(v)

    rows += [
        ("GET cold cache req/s / hit ratio",) + both(
            lambda r: f'{r["get_cold"]["rps"]} / {r["get_cold"]["cache"]["hit_ratio"]}'),
        ("GET req/s (64 conn)",) + both(lambda r: r["get"]["rps"]),
        ("GET hit ratio / cache MB",) + both(
            lambda r: f'{r["get"]["cache"]["hit_ratio"]} / {r["get"]["cache"]["mb"]}'),
        ("GET p50 / p99 ms",) + both(lambda r: f'{r["get"]["p50_ms"]} / {r["get"]["p99_ms"]}'),
        ("GET p99 / Little mean",) + both(lambda r: r["get"]["p99_to_little_mean"]),
        ("GET errors",) + both(lambda r: r["get"]["errors"]),
        ("burst 1024 conn req/s",) + both(lambda r: r["burst"]["rps"]),
        ("burst errors / p99 ms",) + both(lambda r: f'{r["burst"]["errors"]} / {r["burst"]["p99_ms"]}'),
        ("pgbench -S tps (64 cl)", pg.get("pgbench_tps"), None),
        ("GET / pgbench ratio", pg.get("get_to_pgbench"), None),
        ("POST req/s (16 conn)",) + both(lambda r: r["post"]["rps"]),
        ("POST p99 ms",) + both(lambda r: r["post"]["p99_ms"]),
        ("POST errors",) + both(lambda r: r["post"]["errors"]),
        ("proxy direct / proxied req/s",
         f'{pg["proxy"]["direct"]["rps"]} / {pg["proxy"]["proxied"]["rps"]}', None),
        ("proxy added p50 / p99 ms",
         f'{pg["proxy"]["added_p50_ms"]} / {pg["proxy"]["added_p99_ms"]}', None),
        ("proxy throughput ratio (to direct / to GET)",
         f'{pg["proxy"]["throughput_ratio"]} / {pg["proxy"]["proxied_to_get"]}', None),
        ("proxy added p50 / p99 ms, 1 conn",
         f'{pg["proxy"]["added_p50_ms_1conn"]} / {pg["proxy"]["added_p99_ms_1conn"]}', None),
        ("proxy 200 MB stream: peak RSS MB (before)",
         f'{pg["proxy"]["peak_rss_mb_streaming"]} ({pg["proxy"]["peak_rss_mb_before_stream"]})', None),
        ("storm provider calls", pg["storm"]["provider_calls"], None),
        ("storm errors / p99 ms", f'{pg["storm"]["errors"]} / {pg["storm"]["p99_ms"]}', None),
        ("refreshed ahead per s", pg["ahead"]["per_second"], None),
        ("ahead calls / credential (max)", pg["ahead"]["max_calls_per_credential"], None),
        ("webhook latency p50 / p99 ms",
         f'{pg["webhooks"]["p50_ms"]} / {pg["webhooks"]["p99_ms"]}', None),
        ("rotate-key rows / s",
         f'{pg["rotate_key"]["rows"]} / {pg["rotate_key"]["seconds"]}', None),
        ("peak RSS MB (during GET)",) + both(lambda r: r["peak_rss_mb"]),
        ("start-up to ready ms",) + both(lambda r: r["startup_ms"]),
    ]
    widths = [max(len(fmt(r[i])) for r in rows) for i in range(3)]
    return "\n".join("  ".join(fmt(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def main():
    parser = argparse.ArgumentParser(description="tokenvault benchmark (use bench/run)")
    parser.add_argument("--quick", action="store_true", help="a few seconds per part (CI)")
    parser.add_argument("--soak", type=float, metavar="MINUTES", nargs="?", const=10.0,
                        help="instead: the soak with a database outage (default 10 minutes), "
                             "RSS over time per instance; writes bench/results/soak.json")
    args = parser.parse_args()
    pg_base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    if args.soak:
        import soak
        result = soak.soak(args.soak, pg_base)
        bad = result["superseded_refresh_tokens_sent"] or result["invalid_credentials"]
        sys.exit(1 if bad else 0)
    args.seconds = 2 if args.quick else 20
    args.users = 300 if args.quick else 10_000
    args.storm = 100 if args.quick else 1000
    args.ahead = 200 if args.quick else 2000
    args.hooks = 20 if args.quick else 100
    args.rotate = 3_000 if args.quick else 100_000
    enc_key, admin_key = gen_key(), "agk_" + secrets.token_hex(24)

    database = f"tokenvault_bench_{os.getpid()}"
    psql(pg_base, f"CREATE DATABASE {database}")
    sqlite_dir = tempfile.mkdtemp(prefix="tokenvault-bench-")
    try:
        results = {
            "quick": args.quick,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "postgres": run_backend("postgres", f"{pg_base}/{database}", args, enc_key, admin_key,
                                    pg=(pg_base, database)),
            "sqlite": run_backend("sqlite", f"sqlite://{sqlite_dir}/tokenvault.db", args, enc_key,
                                  admin_key),
        }
    finally:
        psql(pg_base, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(sqlite_dir, ignore_errors=True)

    print(table(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("quick.json" if args.quick else "latest.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {out.relative_to(ROOT)}")
    storm = results["postgres"]["storm"]
    failed = [r[part]["errors"] for r in (results["postgres"], results["sqlite"])
              for part in ("get", "burst")]
    proxy = results["postgres"]["proxy"]
    failed += [proxy["direct"]["errors"], proxy["proxied"]["errors"], proxy["proxied_1conn"]["errors"],
               proxy["stream_status"] != 200 or proxy["stream_mb"] != 200]
    if storm["provider_calls"] != 1 or storm["errors"] or any(failed):
        log("FAILED: the refresh storm must make exactly one provider call, and no request may fail")
        sys.exit(1)
    ahead, hooks = results["postgres"]["ahead"], results["postgres"]["webhooks"]
    if ahead["refreshed"] != ahead["credentials"] or ahead["max_calls_per_credential"] != 1 \
            or ahead["provider_calls"] != ahead["credentials"] or hooks["delivered"] != hooks["events"]:
        log("FAILED: every credential must be refreshed ahead exactly once, every webhook delivered")
        sys.exit(1)


if __name__ == "__main__":
    main()
