"""The Dockerfile's image: built, run with ``--network host`` and configured by LWA_ variables alone, it hands
out a token, reports healthy and stops within 2 s of SIGTERM.

Where the public base (``python:3.12-slim``) cannot be pulled, the base is made once per machine: Debian
bookworm by ``debootstrap`` from the mirror apt uses, with python3, python3-venv and this machine's CA
certificates, imported as ``pytest-lwa-base:bookworm`` and passed as the ``BASE`` build argument. Skips, saying
why, where no Docker daemon answers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_BASE = "python:3.12-slim"
MADE_BASE = "pytest-lwa-base:bookworm"
#: an image of this checkout's sources, apart from other checkouts' on the same machine
IMAGE = "pytest-lwa-test:" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
APPSTORE = "appstore::apps:readwrite"


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """One process of the machine at a time makes the base (xdist workers, other checkouts); only root does."""
    with open("/run/lock/pytest-lwa-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def apt_mirror() -> str:
    """The Debian mirror apt uses here (deb822 ``URIs:`` or a ``deb`` line), else Debian's own."""
    sources = sorted(Path("/etc/apt").glob("sources.list*")) + sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for path in sources:
        if path.is_file() and path.suffix in ("", ".list", ".sources"):
            for line in path.read_text(errors="replace").splitlines():
                found = re.match(r"\s*(?:URIs:|deb(?:\s+\[[^]]*\])?)\s+(\S+/debian)/?\s", line + " ")
                if found:
                    return found.group(1)
    return "http://deb.debian.org/debian"


def made_base() -> str:
    """Debian bookworm with python3 (3.11) and its venv module, as an image; made once per machine."""
    if docker("image", "inspect", MADE_BASE, check=False).returncode == 0:
        return MADE_BASE
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip(f"{PUBLIC_BASE} cannot be pulled, and making a base needs root and debootstrap (.ci/run)")
    with machine_lock(), tempfile.TemporaryDirectory(prefix="pytest-lwa-base-") as folder:
        if docker("image", "inspect", MADE_BASE, check=False).returncode == 0:  # made while this one waited
            return MADE_BASE
        rootfs = Path(folder) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
             "bookworm", str(rootfs), apt_mirror()],
            capture_output=True, text=True, timeout=900, check=True,
        )  # fmt: skip
        # pip in the build trusts what this machine trusts (an egress proxy's authority, say)
        shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            subprocess.run(["docker", "import", "-", MADE_BASE], stdin=tar.stdout, capture_output=True, check=True)
        assert tar.returncode == 0
    return MADE_BASE


def base() -> str:
    if docker("image", "inspect", PUBLIC_BASE, check=False).returncode == 0:
        return PUBLIC_BASE
    if docker("pull", PUBLIC_BASE, timeout=300, check=False).returncode == 0:
        return PUBLIC_BASE
    return made_base()


def pip_settings() -> list[str]:
    """The package index pip is told to use here, for pip inside the build (which has the host's network)."""
    index = os.environ.get("PIP_INDEX_URL")
    if not index:
        asked = subprocess.run(
            ["python3", "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True, check=False
        )
        index = asked.stdout.strip() if asked.returncode == 0 else ""
    return ["--build-arg", f"PIP_INDEX_URL={index}"] if index.startswith(("http://", "https://")) else []


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None:
        pytest.skip("no docker command (.ci/run installs Debian's docker.io)")
    if docker("info", check=False).returncode != 0:
        pytest.skip("no Docker daemon answers (.ci/run starts dockerd --bridge=none --iptables=false as root)")
    before = docker("image", "inspect", "-f", "{{.Id}}", IMAGE, check=False).stdout.strip()
    built = docker(
        "build", "--network", "host", "--build-arg", f"BASE={base()}", *pip_settings(), "-t", IMAGE, str(ROOT),
        timeout=900, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    if before and before != docker("image", "inspect", "-f", "{{.Id}}", IMAGE).stdout.strip():
        docker("image", "rm", before, check=False)  # the image of older sources, so that one is kept per checkout
    return IMAGE


def started(name: str, limit: float = 30) -> str:
    """The URL the container's server printed, once it has."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        logs = docker("logs", name)
        found = re.search(r"^Serving Login With Amazon mock on (\S+)$", logs.stdout, re.MULTILINE)
        if found:
            return found.group(1)
        if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
            raise AssertionError(f"the container exited: {logs.stdout}{logs.stderr}")
        time.sleep(0.1)
    raise AssertionError(f"the server did not start within {limit} s")


def health(name: str, limit: float = 30) -> str:
    deadline = time.monotonic() + limit
    while True:
        status = json.loads(docker("inspect", "-f", "{{json .State.Health}}", name).stdout)["Status"]
        if status != "starting" or time.monotonic() > deadline:
            return str(status)
        time.sleep(0.2)


def test_the_image_serves_reports_healthy_and_stops_on_sigterm(image: str) -> None:
    name = f"pytest-lwa-test-{os.getpid()}-{time.monotonic_ns()}"
    environment = {"LWA_HOST": "127.0.0.1", "LWA_PORT": "0", "LWA_ADMIN_TOKEN": "ci-admin", "LWA_EXPIRES_IN": "600"}
    options = [part for key, value in environment.items() for part in ("-e", f"{key}={value}")]
    docker("run", "-d", "--name", name, "--network", "host", *options, image)
    try:
        assert docker("inspect", "-f", "{{.Config.User}}", name).stdout.strip() == "10001:10001"
        url = started(name)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert not url.endswith(":8080")  # LWA_PORT=0 was read
        form = {"grant_type": "client_credentials", "scope": APPSTORE}
        token = requests.post(
            url + "/auth/o2/token", data={**form, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
            timeout=10,
        )  # fmt: skip
        assert token.status_code == 200
        assert token.headers["Content-Type"] == "application/json;charset=UTF-8"
        body = token.json()
        assert sorted(body) == ["access_token", "expires_in", "scope", "token_type"]
        assert (body["token_type"], body["scope"], body["expires_in"]) == ("bearer", APPSTORE, 600)
        assert body["access_token"].startswith("Atc|")
        assert requests.get(url + "/_lwa/clients", timeout=10).status_code == 401  # LWA_ADMIN_TOKEN is required
        clients = requests.get(url + "/_lwa/clients", headers={"Authorization": "Bearer ci-admin"}, timeout=10)
        assert [c["client_id"] for c in clients.json()["clients"]] == [DEMO_CLIENT_ID]
        assert health(name) == "healthy"

        stopping = time.monotonic()
        docker("kill", "--signal", "TERM", name)
        assert docker("wait", name, timeout=10).stdout.strip() == "0"
        assert time.monotonic() - stopping < 2.0
        logs = docker("logs", name)
        assert logs.stderr.endswith("pytest-lwa: stopped\n")
        assert "Traceback" not in logs.stderr
    finally:
        docker("rm", "--force", name, check=False)
