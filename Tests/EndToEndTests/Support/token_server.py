# A Docker-style token service for the pull-through tests: checks Basic credentials and issues
# ES256 JWTs (x5c: a self-signed certificate it writes for docker-registry's rootcertbundle).
import base64, datetime, json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID

directory, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skiff-test-token")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
open(f"{directory}/token-cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))

def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401); self.end_headers(); return
        query = parse_qs(urlparse(self.path).query)
        access = []
        for scope in query.get("scope", []):
            kind, repo, actions = scope.split(":")
            access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
        t = int(time.time())
        claims = {"iss": "skiff-test", "sub": user, "aud": query.get("service", [""])[0], "exp": t + 300, "nbf": t - 10,
                  "iat": t, "jti": str(uuid.uuid4()), "access": access}
        signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        r, s = utils.decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
        token = signing + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        body = json.dumps({"token": token}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)

open(f"{directory}/token-ready", "w").write("ok")
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
