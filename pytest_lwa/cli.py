"""``pytest-lwa serve``: the mock as a standalone server for CI jobs in any language."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Final, TextIO

from .amazon_hosts import PROXY_HOSTS
from .config import Config, ConfigError, check, load_config, parse_client, parse_config
from .environment import CONFIG_TOML, describe, with_environment
from .errors import BODY_STYLES
from .grants.selling_partner import SellingPartnerApp
from .model import SETTINGS, setting_choices, setting_kind
from .server import MAX_CONNECTIONS, REQUEST_TIMEOUT, WORKERS, is_loopback_name

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "main"]

#: The client a bare ``pytest-lwa serve`` registers, fixed so that documentation and scripts can use it.
DEMO_CLIENT_ID: Final = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef"
DEMO_CLIENT_SECRET: Final = "amzn1.oa2-cs.v1." + "0123456789abcdef" * 4
#: How long a stop waits for requests already being served.
DRAIN_SECONDS: Final = 1.5


def _version() -> str:
    try:
        return importlib.metadata.version("pytest-lwa")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535; 0 picks a free one)")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-lwa", description="A faithful, offline Login With Amazon mock.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the mock as a standalone server",
        description="Serve the Login With Amazon endpoints and the /_lwa/ admin API until SIGTERM or Ctrl-C."
        " Without --client or a config file with clients, a demo client is registered and printed.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, help="port to bind; 0 picks a free one (default 8080; 443 with --amazon-hosts)"
    )
    serve.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET[:SCOPE[,SCOPE...]]",
        help="register a client (repeatable); without scopes it gets every client-credentials scope",
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file: settings, clients, users, refresh tokens, selling partners, SP-API applications",
    )
    for setting in SETTINGS:  # every setting, as --<name> (a flag: --<name> / --no-<name>)
        kind, flag = setting_kind(setting), "--" + setting.name.replace("_", "-")
        if kind == "bool":
            default = "on" if setting.default else "off"
            help = f"{setting.metadata['help']} (default {default})"
            serve.add_argument(flag, action=argparse.BooleanOptionalAction, dest=setting.name, help=help)
        else:
            help = f"{setting.metadata['help']} (default {setting.default})"
            choices = setting_choices(setting) or None
            convert = _positive if kind == "int" else str
            serve.add_argument(
                flag, type=convert, choices=choices, dest=setting.name, metavar=setting.metadata["metavar"], help=help
            )
    serve.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate made at start (needs trustme)"
    )
    serve.add_argument(
        "--proxy",
        action="store_true",
        help="also be an HTTP(S) proxy for Amazon's LWA hosts: CONNECT api.amazon.com:443 is served by the mock"
        " over TLS from the server's own authority (needs trustme); other hosts are refused with 403",
    )
    serve.add_argument(
        "--proxy-passthrough",
        action="store_true",
        help="with --proxy: tunnel other hosts untouched instead (bound beyond loopback: needs --admin-token, sent"
        " as Proxy-Authorization: Bearer TOKEN)",
    )
    serve.add_argument(
        "--proxy-allow-private",
        action="store_true",
        help="with --proxy-passthrough: also tunnel to loopback, private and link-local addresses (this host's"
        " and its network's services)",
    )
    serve.add_argument(
        "--amazon-hosts",
        action="store_true",
        help="serve HTTPS (on port 443 unless --port says otherwise) with one certificate for every LWA, sign-in"
        " and Seller Central host: map those names to this server (/etc/hosts, --add-host) and clients that"
        " ignore proxies reach it unchanged (needs trustme)",
    )
    serve.add_argument(
        "--ca-file", metavar="PATH", help="write the authority's PEM here too (with --tls, --proxy or --amazon-hosts)"
    )
    serve.add_argument(
        "--ca-cert", metavar="PEM", help="use this certificate authority (with --ca-key) for a stable trust"
    )
    serve.add_argument("--ca-key", metavar="PEM", help="the private key of --ca-cert")
    serve.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="info shows one line a request",
    )
    serve.add_argument(
        "--log-size", type=_positive, default=1000, metavar="N", help="requests kept for /_lwa/requests (default 1000)"
    )
    serve.add_argument(
        "--request-timeout",
        type=_seconds,
        default=REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="time a client has to send a whole request once it has begun, and for a TLS handshake;"
        f" later ones get 408 (default {REQUEST_TIMEOUT:g})",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive,
        default=None,
        metavar="N",
        help="connections open at once; beyond it those idle longest are closed, and with none idle a new one"
        f" is answered 503 with Retry-After (default {MAX_CONNECTIONS:,}, or the open-file limit less 64 if lower)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=WORKERS,
        metavar="N",
        help=f"threads answering requests; more requests wait their turn (default {WORKERS})",
    )
    serve.add_argument("--ready-file", metavar="PATH", help="write JSON with the URL and clients once serving")
    serve.add_argument("--admin-token", metavar="TOKEN", help="require 'Authorization: Bearer TOKEN' on /_lwa/")
    probe = commands.add_parser(
        "probe",
        help="compare an LWA endpoint's answers with the mock's",
        description="Send a fixed set of requests to URL (e.g. https://api.amazon.com) and to the mock, and show"
        " where the answers differ. Without credentials only requests that need none are sent. Exit status 0:"
        " no difference; 1: some; 2: the probe could not run.",
    )
    probe.add_argument("url", metavar="URL", help="base URL of the LWA endpoint, e.g. https://api.amazon.com")
    probe.add_argument("--client-id", metavar="ID", help="a real client, for the rows that need one")
    probe.add_argument("--client-secret", metavar="SECRET", help="its secret")
    probe.add_argument("--refresh-token", metavar="TOKEN", help="a real refresh token of that client (Atzr|…)")
    probe.add_argument("--scope", help="a client-credentials scope the client has (default appstore::apps:readwrite)")
    probe.add_argument("--body-style", choices=BODY_STYLES, help="the mock's error body style (default classic)")
    probe.add_argument("--record", metavar="FILE", help="write URL's answers (secrets and tokens left out) to FILE")
    probe.add_argument("--cacert", metavar="PEM", help="trust this CA bundle for an https URL")
    probe.add_argument("--insecure", action="store_true", help="do not verify an https URL's certificate")
    probe.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS", help="per request (default 10)")
    return describe(parser)  # each serve option's LWA_ variable


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse has printed the usage and the problem
        return exit.code if isinstance(exit.code, int) else 2
    try:
        if args.command == "serve":  # the LWA_ variables, for a container given no arguments
            args = with_environment(parser, argv, os.environ)
        return run_probe(args) if args.command == "probe" else serve(args)
    except ConfigError as error:
        print(f"pytest-lwa: error: {error}", file=sys.stderr)
        return 2


def run_probe(args: argparse.Namespace) -> int:
    """``pytest-lwa probe``; returns the exit status."""
    from .probe import run

    settings = {"body_style": args.body_style} if args.body_style else {}
    try:
        return run(
            args.url,
            client_id=args.client_id,
            client_secret=args.client_secret,
            refresh_token=args.refresh_token,
            scope=args.scope,
            settings=settings,
            record=args.record,
            cafile=args.cacert,
            insecure=args.insecure,
            timeout=args.timeout,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    except OSError as error:  # no answer, a bad certificate, an unwritable --record file
        reason = getattr(error, "reason", None) or error.strerror or error
        raise ConfigError(f"probe of {args.url} failed: {reason}") from None


def _config(args: argparse.Namespace) -> Config:
    if args.config:
        config = load_config(args.config)
    else:  # LWA_CONFIG_TOML, or nothing
        toml = getattr(args, "config_toml", None)
        config = parse_config(toml, CONFIG_TOML) if toml else Config()
    flags = {setting.name: getattr(args, setting.name) for setting in SETTINGS}
    config.settings.update({name: value for name, value in flags.items() if value is not None})
    config.clients.extend(parse_client(text) for text in args.client)
    if not config.clients:
        config.clients.append({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
    check(config, "options")
    return config


def _authority(args: argparse.Namespace) -> tuple[bytes, bytes] | None:
    """The certificate authority --ca-cert and --ca-key name, checked."""
    if args.proxy_passthrough and not args.proxy:
        raise ConfigError("--proxy-passthrough goes with --proxy")
    if args.proxy_allow_private and not args.proxy_passthrough:
        raise ConfigError("--proxy-allow-private goes with --proxy-passthrough")
    if args.proxy_passthrough and args.admin_token is None and not is_loopback_name(args.host):
        raise ConfigError(
            f"--proxy-passthrough on {args.host}, beyond loopback, needs --admin-token: without it anyone who"
            " reaches the port could tunnel through this host"
        )
    if (args.ca_cert is None) != (args.ca_key is None):
        raise ConfigError("--ca-cert and --ca-key go together")
    if (args.ca_cert or args.ca_file) and not (args.tls or args.proxy or args.amazon_hosts):
        raise ConfigError("--ca-cert, --ca-key and --ca-file go with --tls, --proxy or --amazon-hosts")
    if args.ca_cert is None:
        return None
    try:
        return Path(args.ca_cert).read_bytes(), Path(args.ca_key).read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {error.filename}: {error.strerror}") from None


def _banner(
    out: TextIO,
    url: str,
    clients: list[Any],
    issued: list[dict[str, Any]],
    bundle: Path | None,
    admin: str,
    proxy: bool = False,
    sp_applications: Sequence[SellingPartnerApp] = (),
) -> None:
    print(f"Serving Login With Amazon mock on {url}", file=out)
    for client in clients:
        print(f"client_id:     {client.client_id}", file=out)
        print(f"client_secret: {client.client_secret}", file=out)
        print(f"scopes:        {' '.join(client.scopes)}", file=out)
        if client.allowed_origins:  # a website: where its pages load the SDK, and which pages may
            amazon = " (or Amazon's URL, through the proxy)" if proxy else ""
            origins = " ".join(client.allowed_origins)
            print(f"SDK:           {url}/sdk/na/login1.js{amazon} for pages on {origins}", file=out)
    for spec in issued:
        print(f"refresh_token: {spec['token']} (client {spec['client_id']})", file=out)
    for app in sp_applications:
        beta = "" if app.published else "&version=beta"
        print(f"SP-API app:    {app.application_id} (client {app.client_id}, log-in URI {app.login_uri})", file=out)
        print(
            f"  authorize:   {url}/apps/authorize/consent?application_id={app.application_id}&state=…{beta}", file=out
        )
    if bundle is not None:
        print(f"CA bundle:     {bundle}", file=out)
    if proxy:
        print(f"Proxy:         HTTPS_PROXY={url} (Amazon's LWA hosts; trust the CA bundle)", file=out)
    first = clients[0]
    if first.scopes and "client_credentials" in first.grants:
        form = (
            f"grant_type=client_credentials&client_id={first.client_id}"
            f"&client_secret={first.client_secret}&scope={first.scopes[0]}"
        )
        trust = f"--cacert {bundle} " if bundle is not None else ""
        header = "Content-Type: application/x-www-form-urlencoded"
        print(f"Try: curl {trust}-X POST -H '{header}' -d '{form}' {url}/auth/o2/token", file=out)
    print(f"Admin API: {admin}", file=out)
    out.flush()


def _write_ready_file(path: str, payload: dict[str, Any]) -> bytes:
    """Write the ready file (it holds client secrets) readable by its owner alone; answer what it holds."""
    data = (json.dumps(payload, indent=2) + "\n").encode("utf-8")
    _write_new(path, data, 0o600)
    return data


def _remove_ready_file(path: str, written: bytes) -> None:
    """Remove the ready file once the server has stopped, unless another has taken its place since (another
    server's names another port)."""
    with contextlib.suppress(OSError):
        if Path(path).read_bytes() == written:
            os.unlink(path)


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Write ``path`` whole or not at all, with ``mode``: through a new file of a random name beside it, created
    exclusively (never a planted link, never a file another user made), then renamed over it."""
    target = Path(path)
    descriptor, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:  # mkstemp makes it 0600
            stream.write(data)
        os.chmod(partial, mode)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def serve(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until SIGTERM or SIGINT (or until ``stop`` is set); returns the exit status."""
    from .admin import AdminApp, check_token
    from .server import LwaServer

    config = _config(args)
    if args.port is None:
        args.port = 443 if args.amazon_hosts else 8080
    try:
        check_token(args.admin_token, "--admin-token")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if args.ready_file and not Path(args.ready_file).resolve().parent.is_dir():
        raise ConfigError(f"--ready-file {args.ready_file}: the folder {Path(args.ready_file).parent} does not exist")
    handler: logging.Handler | None = None
    previous_level = logging.getLogger("pytest_lwa").level
    try:
        try:
            server = LwaServer(
                args.host,
                args.port,
                tls=args.tls,
                tick=True,
                log_size=args.log_size,
                keep_alive=True,
                request_timeout=args.request_timeout,
                max_connections=args.max_connections,
                workers=args.workers,
                proxy=args.proxy,
                proxy_passthrough=args.proxy_passthrough,
                proxy_allow_private=args.proxy_allow_private,
                proxy_token=args.admin_token if args.proxy_passthrough else None,
                certificate_authority=_authority(args),
                amazon_hosts=args.amazon_hosts,
                **config.settings,  # a reset restores them: the registrations below are all it re-applies
            )
        except (RuntimeError, ValueError) as error:  # --tls or --proxy without trustme; a bad --ca-cert
            raise ConfigError(str(error)) from None
        bundle = Path(server.ca_bundle) if server.ca_bundle else None
        if bundle is not None and args.ca_file:
            try:
                # the authority clients will trust: never through a planted link or into another's file
                _write_new(args.ca_file, bundle.read_bytes(), 0o644)
            except OSError as error:
                raise ConfigError(f"cannot write --ca-file {args.ca_file}: {error.strerror}") from None
            bundle = Path(args.ca_file)
        issued: list[dict[str, Any]] = []

        def setup() -> None:
            server.reset()
            issued[:] = config.apply(server.authority)

        setup()
        admin_enabled = args.admin_token is not None or is_loopback_name(args.host)
        server.wsgi_app = AdminApp(server.app, server, token=args.admin_token, enabled=admin_enabled, on_reset=setup)
        logger = logging.getLogger("pytest_lwa")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
        logger.addHandler(handler)
        logger.setLevel(args.log_level.upper())
        try:
            server.start()
        except OSError as error:
            print(
                f"pytest-lwa: error: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
                file=sys.stderr,
            )
            return 1
        clients = server.clients
        if not admin_enabled:
            admin = f"off: the server listens beyond loopback without --admin-token ({server.url}/_lwa/health answers)"
        elif args.admin_token is not None:
            admin = f"{server.url}/_lwa/ (send 'Authorization: Bearer <the --admin-token>'; GET it for the endpoints)"
        else:
            admin = f"{server.url}/_lwa/ (GET it for the endpoints)"
        sp_applications = server.authority.sp_applications
        _banner(sys.stdout, server.url, clients, issued, bundle, admin, args.proxy, sp_applications)
        if args.amazon_hosts:
            mapped = f"{args.host} (port {server.port})"
            print(f"Amazon hosts:  map {', '.join(sorted(PROXY_HOSTS))} to {mapped}; trust the CA bundle", flush=True)
        if args.ready_file:
            ready = {
                "url": server.url,
                "port": server.port,
                "token_url": server.token_url,
                "admin_url": server.url + "/_lwa/",
                "ca_bundle": str(bundle) if bundle else None,
                "proxy_url": server.url if args.proxy else None,
                "amazon_hosts": sorted(PROXY_HOSTS) if args.amazon_hosts else None,
                "clients": [
                    {"client_id": c.client_id, "client_secret": c.client_secret, "scopes": list(c.scopes)}
                    for c in clients
                ],
                "refresh_tokens": issued,
                "sp_applications": [dataclasses.asdict(app) for app in sp_applications],
                "selling_partners": [dataclasses.asdict(p) for p in server.authority.selling_partners],
            }
            try:
                written = _write_ready_file(args.ready_file, ready)
            except OSError as error:  # the folder went away, or is not writable
                server.stop()
                print(
                    f"pytest-lwa: error: cannot write --ready-file {args.ready_file}: {error.strerror}", file=sys.stderr
                )
                return 2
        stopping = stop or threading.Event()
        previous = {}
        if stop is None:

            def handle(signum: int, frame: FrameType | None) -> None:
                stopping.set()

            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, handle)
        try:
            while not stopping.wait(0.2):  # short waits keep the main thread responsive to signals
                pass
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)
        answered = server.stop(drain=DRAIN_SECONDS)
        if args.ready_file:
            _remove_ready_file(args.ready_file, written)
        print(
            "pytest-lwa: stopped" + ("" if answered else " (some requests were still being answered)"), file=sys.stderr
        )
        return 0
    finally:
        if handler is not None:  # the process's logging as it was (serve also runs in-process, in tests)
            logging.getLogger("pytest_lwa").removeHandler(handler)
            logging.getLogger("pytest_lwa").setLevel(previous_level)
