"""Soak with an outage (bench/run --soak [MINUTES]): two tokenvault instances on one PostgreSQL
behind a TCP proxy, a provider that rotates the refresh token on every refresh (answering in 0 to
1.5 s) and rejects a superseded one with invalid_grant, 150 credentials living 60 s (so they are
refreshed all the time, by the background refresher and by GETs), a steady GET load on both
instances, and the database cut off for 40 s a third of the way through.

Reports, per instance, RSS every 10 s (and its growth over the second half of the run, when any
warm-up is over), and for the whole run: superseded refresh tokens sent (must be 0), credentials
ending invalid (must be 0), GET answers by status. Writes bench/results/soak.json.
"""

import http.client
import http.server
import json
import random
import select
import socket
import subprocess
import threading
import time
import urllib.parse

from bench import RESULTS, ROOT, Server, gen_key, log, psql, request

CREDENTIALS = 150
LIFETIME_S = 60
OUTAGE_S = 40
SAMPLE_S = 10


class RotatingProvider:
    """A token endpoint that rotates on every refresh and rejects reuse (OAuth 2.1)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.used = set()
        self.calls = 0
        self.superseded = 0
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                sent = urllib.parse.parse_qs(text).get("refresh_token", [""])[0]
                time.sleep(random.uniform(0, 1.5))
                with mock.lock:
                    mock.calls += 1
                    n = mock.calls
                    reused = sent in mock.used
                    mock.used.add(sent)
                    if reused:
                        mock.superseded += 1
                if reused:
                    self.answer(400, {"error": "invalid_grant"})
                else:
                    self.answer(200, {"access_token": f"ya29.soak-{n}", "token_type": "Bearer",
                                      "refresh_token": f"1//soak-{n}", "expires_in": LIFETIME_S})

            def answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the instance gave up on the call (its timeout, or it stopped)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class CutProxy:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new ones."""

    def __init__(self, target_port=5432):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.lock = threading.Lock()
        self.open = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self.pump, args=(client, upstream), daemon=True).start()

    def pump(self, a, b):
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
            with self.lock:
                self.open = [s for s in self.open if s not in (a, b)]

    def cut(self):
        self.down = True
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self):
        self.down = False


def rss_mb(server):
    for line in open(f"/proc/{server.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def load(servers, admin_key, stop, statuses, lock):
    """GETs on random credentials on either instance, back to back (each may wait for a
    refresh: these tokens live shorter than the refresh window)."""
    while not stop.is_set():
        server = random.choice(servers)
        user = f"soak{random.randrange(CREDENTIALS):03d}"
        try:
            conn = http.client.HTTPConnection(server.url, timeout=10)
            conn.request("GET", f"/v2/users/{user}/tokens/google", headers={"X-API-Key": admin_key})
            status = conn.getresponse().status
        except OSError:
            status = "network"
        with lock:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        time.sleep(0.04)


def soak(minutes, pg_base):
    enc_key, admin_key = gen_key(), "agk_" + "".join(random.choices("abcdef0123456789", k=48))
    database = f"tokenvault_soak_{int(time.time())}"
    psql(pg_base, f"CREATE DATABASE {database}")
    provider, proxy = RotatingProvider(), CutProxy()
    providers = ROOT / "target" / "soak-providers.toml"
    providers.write_text(f'[google]\ntoken_url = "{provider.url}/token"\n')
    host_url = pg_base.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = {"PROVIDERS_FILE": str(providers), "TOKENVAULT_REFRESH_SCAN_SECS": "1",
           "REFRESH_COOLDOWN_SECS": "5"}
    servers = [Server(f"{host_url}/{database}", enc_key, admin_key, env) for _ in range(2)]
    stop, lock, statuses = threading.Event(), threading.Lock(), {}
    samples = []
    try:
        for i in range(CREDENTIALS):
            status, _ = request(servers[0].url, "POST", f"/v2/users/soak{i:03d}/tokens", admin_key, {
                "integration_key": "google", "provider": "google", "token_type": "oauth2",
                "token_data": {"access_token": "ya29.first", "refresh_token": f"1//first-{i}",
                               "expires_in": LIFETIME_S, "client_id": "soak", "client_secret": "soak"}})
            assert status in (200, 201), status
        loaders = [threading.Thread(target=load, args=(servers, admin_key, stop, statuses, lock))
                   for _ in range(2)]
        for t in loaders:
            t.start()
        started = time.time()
        total = minutes * 60
        outage_at, outage_done = total / 3, False
        while time.time() - started < total:
            elapsed = time.time() - started
            if not outage_done and elapsed >= outage_at:
                log(f"soak: database cut off for {OUTAGE_S} s at {elapsed:.0f} s")
                proxy.cut()
                time.sleep(OUTAGE_S)
                proxy.restore()
                outage_done = True
                log("soak: database back")
            samples.append({"t_s": round(time.time() - started),
                            "rss_mb": [round(rss_mb(s), 2) for s in servers]})
            log(f"soak: {samples[-1]['t_s']} s, RSS MB {samples[-1]['rss_mb']}, "
                f"provider calls {provider.calls}, superseded {provider.superseded}")
            time.sleep(SAMPLE_S)
        stop.set()
        for t in loaders:
            t.join()
        time.sleep(3)
        invalid = subprocess.run(["psql", f"{pg_base}/{database}", "-tAc",
                                  "SELECT count(*) FROM tokens WHERE status = 'invalid'"],
                                 check=True, capture_output=True, text=True).stdout.strip()
    finally:
        stop.set()
        for s in servers:
            s.stop()
        provider.stop()
        psql(pg_base, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    half = [s for s in samples if s["t_s"] >= samples[-1]["t_s"] / 2]
    growth = [round(half[-1]["rss_mb"][i] - half[0]["rss_mb"][i], 2) for i in range(2)]
    result = {
        "minutes": minutes,
        "credentials": CREDENTIALS,
        "outage_s": OUTAGE_S,
        "provider_calls": provider.calls,
        "superseded_refresh_tokens_sent": provider.superseded,
        "invalid_credentials": int(invalid or 0),
        "get_statuses": statuses,
        "rss_growth_second_half_mb": growth,
        "rss_mb": samples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    log(f"soak: wrote bench/results/soak.json: {provider.superseded} superseded sent, "
        f"{result['invalid_credentials']} invalid, RSS growth over the second half {growth} MB")
    return result
