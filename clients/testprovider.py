"""The provider the client libraries' tests run against: a token endpoint whose answer depends
on the refresh token it is sent (`rt-good` → a new access token `at-N`, `rt-revoked` →
`invalid_grant`, `rt-down` → HTTP 500), and an API under `/api/` that echoes what it received
(method, path, the Authorization header) so a test sees what the proxy injected.

Run: python3 clients/testprovider.py PORT_FILE (serves on a free loopback port).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

COUNT = [0]
LOCK = threading.Lock()


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

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.answer(int(self.headers.get("X-Answer-Status") or 200), {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "x_api_key": self.headers.get("X-API-Key"),
            "body": body,
        })

    def do_GET(self):
        if self.path.startswith("/api/"):
            return self.echo()
        self.answer(404, {"error": "not_found"})

    def do_POST(self):
        if self.path.startswith("/api/"):
            return self.echo()
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        token = form.get("refresh_token", [""])[0]
        if self.path != "/token" or form.get("grant_type", [""])[0] != "refresh_token":
            return self.answer(400, {"error": "unsupported_grant_type"})
        if token == "rt-revoked":
            return self.answer(400, {"error": "invalid_grant"})
        if token == "rt-down":
            return self.answer(500, {"error": "server_error"})
        with LOCK:
            COUNT[0] += 1
            number = COUNT[0]
        self.answer(200, {"access_token": f"at-{number}", "expires_in": 3600,
                          "token_type": "Bearer"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    with open(sys.argv[1], "w") as port_file:
        port_file.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
