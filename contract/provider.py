"""A local OAuth2 provider for the contract checks: answers refresh grants and revocations the
way Google does, and checks what it receives (grant type, refresh token, client credentials);
under /api/ it is every provider's API for the proxy (any method answers 200).

Run: python3 provider.py PORT_FILE — serves on a free loopback port and writes the port to
PORT_FILE. GET /calls answers what it received, as JSON (no secrets are logged anywhere).
"""

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

CALLS = []
LOCK = threading.Lock()


def client_of(handler, form):
    """The client id of a request: HTTP Basic or the body, as the registry says per provider."""
    auth = handler.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return user, secret
    return form.get("client_id", [""])[0], form.get("client_secret", [""])[0]


class Provider(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def api(self):
        """The providers' API for the proxy: any method under /api/ answers what it got."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.answer(200, {"method": self.command, "path": self.path,
                          "authorized": bool(self.headers.get("Authorization")
                                             or self.headers.get("x-api-key"))})

    def do_GET(self):
        if self.path.startswith("/api/"):
            return self.api()
        if self.path == "/calls":
            with LOCK:
                return self.answer(200, CALLS)
        self.answer(404, {"error": "not_found"})

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = api

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        if self.path.startswith("/api/"):
            return self.api()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            form = {k: [str(v)] for k, v in json.loads(raw or "{}").items()}
        else:
            form = parse_qs(raw)
        client_id, client_secret = client_of(self, form)
        call = {
            "path": self.path.split("?")[0],
            "grant_type": form.get("grant_type", [""])[0],
            "refresh_token": form.get("refresh_token", [""])[0],
            "client_id": client_id,
            "client_secret_sent": bool(client_secret),
        }
        with LOCK:
            CALLS.append(call)
            number = len(CALLS)
        if call["path"].endswith("/revoke"):
            return self.answer(200, {})
        # RFC 8628 §3.2: a device authorization (the app then shows the user code).
        if call["path"].endswith("/device/code"):
            return self.answer(200, {
                "device_code": f"contract-device-{number}",
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://provider.example/device",
                "expires_in": 900,
                "interval": 5,
            })
        # Minting kinds: a GitHub App installation token, client credentials, a JWT-bearer grant.
        if call["path"].endswith("/access_tokens"):
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            return self.answer(201, {"token": f"ghs_contract-{number}", "expires_at": expires})
        if call["grant_type"] in ("client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"):
            return self.answer(200, {"access_token": f"ya29.minted-{number}", "expires_in": 3600,
                                     "token_type": "Bearer"})
        if call["grant_type"] != "refresh_token" or not call["refresh_token"]:
            return self.answer(400, {"error": "unsupported_grant_type"})
        if not client_id or not client_secret:
            return self.answer(401, {"error": "invalid_client"})
        self.answer(200, {
            "ok": True,
            "access_token": f"ya29.contract-{number}",
            "expires_in": 3600,
            "token_type": "Bearer",
        })


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    with open(sys.argv[1], "w") as port_file:
        port_file.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
