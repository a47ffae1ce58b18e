"""Shared by the bench scripts: one HTTP GET through the gateway, and the Skiff CLI and API."""
import http.client
import json
import os
import subprocess
import urllib.request


def get(address, host, timeout=60):
    """One GET / with `Host: host` on a new connection; the status, or 0 if the connection failed."""
    hostname, port = address.split(":")
    connection = http.client.HTTPConnection(hostname, int(port), timeout=timeout)
    try:
        connection.request("GET", "/", headers={"Host": host, "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


class Skiff:
    """The CLI (with its own config dir) and the API (with the admin token) of one server."""

    def __init__(self, args):
        self.args = args

    def cli(self, *words):
        env = dict(os.environ, XDG_CONFIG_HOME=self.args.config)
        subprocess.run([self.args.skiff, *words, "--server", self.args.api], check=True, env=env,
                       stdout=subprocess.DEVNULL)

    def instances(self, service):
        request = urllib.request.Request(f"{self.args.api}/v1/services/{service}/instances",
                                         headers={"Authorization": f"Bearer {self.args.token}"})
        with urllib.request.urlopen(request) as response:
            return json.load(response)
