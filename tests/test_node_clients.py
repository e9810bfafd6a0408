"""Node.js clients that use the built-in ``https.request`` — Amazon's own SP-API JS SDK (superagent) and
passport-amazon (node-oauth) — reach the mock at ``https://api.amazon.com`` unchanged: through the proxy
with the documented Node settings, and through host mapping with none.

Host mapping runs in a private mount and network namespace (``unshare``): the hosts file that maps Amazon's
names to loopback is bind-mounted there only, and the namespace's loopback is its own, so the server binds
port 443 without touching the machine. That needs root; the tests skip with the reason where it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_lwa import LwaServer

NODE, NPM, UNSHARE = shutil.which("node"), shutil.which("npm"), shutil.which("unshare")
pytestmark = pytest.mark.skipif(NODE is None or NPM is None, reason="Node.js and npm are not installed")
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "ci" / "lwa.toml"
CLIENT_ID = "amzn1.application-oa2-client.ci0000000000000000000000000000"
CLIENT_SECRET = "amzn1.oa2-cs.v1.ci00000000000000000000000000000000000000000000000000000000000000"
REFRESH_TOKEN = "Atzr|ci-seller-refresh-token"

#: each client gets a token from https://api.amazon.com, the way its library does it
CLIENTS = """
import { createRequire } from "node:module";
import { LwaAuthClient } from "@amazon-sp-api-release/amazon-sp-api-sdk-js";
const require = createRequire(import.meta.url);
const AmazonStrategy = require("passport-amazon").Strategy;
const [clientId, clientSecret, refreshToken] = process.argv.slice(2);
try {
  const grantless = new LwaAuthClient(clientId, clientSecret, null, "sellingpartnerapi::notifications");
  console.log("sp-api-sdk", (await grantless.getAccessToken()).slice(0, 4));
  const strategy = new AmazonStrategy({clientID: clientId, clientSecret, callbackURL: "https://shop.example/cb"},
                                      () => {});
  const access = await new Promise((resolve, reject) => strategy._oauth2.getOAuthAccessToken(
    refreshToken, {grant_type: "refresh_token"}, (error, token) => error ? reject(error) : resolve(token)));
  console.log("passport-amazon", access.slice(0, 5));
} catch (error) {
  console.log("failed", error.code || error.statusCode || error.message);
  process.exit(1);
}
"""
EXPECTED = ["sp-api-sdk Atc|", "passport-amazon Atza|"]


@pytest.fixture(scope="module")
def node_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("node-clients")
    packages = ["@amazon-sp-api-release/amazon-sp-api-sdk-js@1", "passport-amazon@1", "global-agent@3"]
    install = subprocess.run(
        [str(NPM), "install", "--silent", "--no-audit", "--no-fund", *packages],
        cwd=folder, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    (folder / "clients.mjs").write_text(CLIENTS)
    return folder


def node_version() -> tuple[int, ...]:
    out = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in re.findall(r"\d+", out)[:3])


def run_clients(folder: Path, env: dict[str, str], *node_options: str) -> list[str]:
    command = [str(NODE), *node_options, "clients.mjs", CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN]
    ran = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False)
    return ran.stdout.splitlines() or [ran.stderr]


def proxy_child_env(server: LwaServer) -> dict[str, str]:
    ours = {name.upper() for name in server.proxy_env}
    return {**{k: v for k, v in os.environ.items() if k.upper() not in ours}, **server.proxy_env}


def registered(server: LwaServer) -> None:
    client = server.add_client(CLIENT_ID, CLIENT_SECRET)
    server.issue_refresh_token(client, token=REFRESH_TOKEN)


def test_through_the_proxy_with_the_global_agent_preload(lwa_proxy: LwaServer, node_clients: Path) -> None:
    registered(lwa_proxy)
    assert run_clients(node_clients, proxy_child_env(lwa_proxy), "-r", "global-agent/bootstrap") == EXPECTED
    assert {(r.host, r.grant_type) for r in lwa_proxy.request_log} == {
        ("api.amazon.com", "client_credentials"),
        ("api.amazon.com", "refresh_token"),
    }


def test_through_the_proxy_with_node_use_env_proxy(lwa_proxy: LwaServer, node_clients: Path) -> None:
    if node_version() < (22, 21):
        pytest.skip(f"Node.js {'.'.join(map(str, node_version()))} has no NODE_USE_ENV_PROXY (22.21 and 24.5 have)")
    registered(lwa_proxy)
    assert run_clients(node_clients, proxy_child_env(lwa_proxy)) == EXPECTED


# --- host mapping ---------------------------------------------------------------------------------

#: run as root inside `unshare --mount --net`: loopback up, Amazon's names mapped to it, the server on
#: port 443 with --amazon-hosts, then each client with nothing but its CA setting
IN_NAMESPACE = """
import json, os, subprocess, sys, time
from pathlib import Path

folder, config, hosts = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)
ready = folder / "ready.json"
server = subprocess.Popen([sys.executable, "-m", "pytest_lwa", "serve", "--amazon-hosts", "--config", config,
                           "--ready-file", str(ready), "--log-level", "error"], stdout=subprocess.DEVNULL)
try:
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    ca = info["ca_bundle"]
    env = {**{k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}, "NODE_EXTRA_CA_CERTS": ca}
    results = {"port": info["port"]}
    node = subprocess.run([sys.argv[4], "clients.mjs", *sys.argv[5:8]], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)
    results["node"] = node.stdout.splitlines() or [node.stderr]
    form = (f"grant_type=client_credentials&scope=sellingpartnerapi::notifications"
            f"&client_id={sys.argv[5]}&client_secret={sys.argv[6]}")
    curl = subprocess.run(["curl", "-s", "--cacert", ca, "-d", form, "https://api.amazon.com/auth/o2/token"],
                          env=env, capture_output=True, text=True, timeout=60)
    results["curl"] = curl.stdout
    import http.client, ssl
    trusting = ssl.create_default_context(cafile=ca)
    connection = http.client.HTTPSConnection("api.amazon.co.uk", context=trusting, timeout=10)
    connection.request("POST", "/auth/o2/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    results["http.client"] = [answer.status, json.loads(answer.read())["token_type"]]
    print(json.dumps(results))
finally:
    server.terminate()
    server.wait(timeout=10)
"""


def namespaces_work() -> str | None:
    """Why the host-mapping test cannot run here, or None."""
    if UNSHARE is None or shutil.which("ip") is None or shutil.which("curl") is None:
        return "unshare, ip and curl are needed for host mapping in a private namespace"
    if os.geteuid() != 0:
        return "mount and network namespaces need root (CI runs the suite as root)"
    probe = subprocess.run([UNSHARE, "--mount", "--net", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare --mount --net is refused here: {probe.stderr.strip()}"
    return None


@pytest.fixture
def mapped(tmp_path: Path) -> Path:
    reason = namespaces_work()
    if reason is not None:
        pytest.skip(reason)
    from pytest_lwa.amazon_hosts import PROXY_HOSTS

    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {name}\n" for name in sorted(PROXY_HOSTS)))
    return hosts


def test_host_mapping_needs_nothing_but_trust(node_clients: Path, mapped: Path, tmp_path: Path) -> None:
    script = tmp_path / "in_namespace.py"
    script.write_text(IN_NAMESPACE)
    command = [str(UNSHARE), "--mount", "--net", sys.executable, str(script), str(node_clients), str(CONFIG),
               str(mapped), str(NODE), CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN]  # fmt: skip
    ran = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout.splitlines()[-1])
    assert results["port"] == 443
    assert results["node"] == EXPECTED
    assert json.loads(results["curl"])["token_type"] == "bearer"
    assert results["http.client"] == [200, "bearer"]
