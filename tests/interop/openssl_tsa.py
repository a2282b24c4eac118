"""An RFC 3161 TSA over HTTP whose tokens are made by `openssl ts -reply`.

    python3 openssl_tsa.py CONFIG [PORT]

The tests use it as the external TSA (EVIDENT_TSA_URL): a time-stamping
authority that Evident did not write. It answers POST with
Content-Type application/timestamp-reply, binds 127.0.0.1 only, prints
TSA_LISTENING=<port> once it is ready, and serves one request at a time
(openssl keeps its serial number in a file).
"""
import http.server
import os
import subprocess
import sys
import tempfile

CONFIG = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(n)
        with tempfile.TemporaryDirectory() as d:
            q, r = os.path.join(d, "q.tsq"), os.path.join(d, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            res = subprocess.run(
                ["openssl", "ts", "-reply", "-config", CONFIG, "-queryfile", q, "-out", r],
                capture_output=True,
            )
            if res.returncode != 0:
                self.send_response(500)
                self.end_headers()
                self.wfile.write(res.stderr)
                return
            with open(r, "rb") as f:
                body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
print(f"TSA_LISTENING={server.server_address[1]}", flush=True)
server.serve_forever()
