"""The JavaScript SDK stand-in over HTTP, without a browser (docs/contract.md N14): the script for each region
and where it sends the browser, directly and through the proxy's Amazon hosts; the popup's relay redirect URI,
allowed by the page's origin and by nothing else; the relay page; the script's syntax, checked by Node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests

from pytest_lwa import LwaServer

SITE = "http://127.0.0.1:8001"


def config(script: str) -> dict[str, Any]:
    """The configuration the mock wrote into ``login1.js``."""
    found = re.search(r"var config = (\{.*\});", script)
    assert found is not None
    return dict(json.loads(found.group(1)))


@pytest.mark.parametrize("region", ["na", "eu", "fe"])
def test_the_sdk_is_served_for_each_region_and_talks_to_the_mock(lwa_server: LwaServer, region: str) -> None:
    answer = requests.get(f"{lwa_server.url}/sdk/{region}/login1.js", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/javascript;charset=UTF-8"
    assert answer.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    here = {"signin": lwa_server.url, "api": lwa_server.url}
    assert config(answer.text) == {
        "region": region,
        "hosts": {"na": here, "eu": here, "fe": here},
        "relay": "/ap/oa/popup",
    }


def test_at_amazon_s_url_the_sdk_talks_to_amazon_s_hosts(lwa_server: LwaServer) -> None:
    """Reached as ``assets.loginwithamazon.com`` (through the proxy), each region's hosts are Amazon's (N18),
    which the proxy sends to the mock in turn."""
    answer = requests.get(
        f"{lwa_server.url}/sdk/eu/login1.js", headers={"Host": "assets.loginwithamazon.com"}, timeout=5
    )
    assert config(answer.text)["hosts"] == {
        "na": {"signin": "https://www.amazon.com", "api": "https://api.amazon.com"},
        "eu": {"signin": "https://eu.account.amazon.com", "api": "https://api.amazon.co.uk"},
        "fe": {"signin": "https://apac.account.amazon.com", "api": "https://api.amazon.co.jp"},
    }
    assert config(answer.text)["region"] == "eu"


def test_an_unknown_region_is_not_found(lwa_server: LwaServer) -> None:
    answer = requests.get(f"{lwa_server.url}/sdk/us/login1.js", timeout=5)
    assert answer.status_code == 404
    assert (
        answer.content == b'{"error_description":"The requested URL was not found on the server","error":"not_found"}'
    )
    assert lwa_server.request_log[-1].reason == "the SDK is served for the regions na, eu, fe, not 'us'"


@pytest.mark.parametrize("path", ["/sdk/NA/login1.js", "/SDK/NA/LOGIN1.JS", "/sdk/Na/Login1.js"])
def test_the_sdk_s_path_matches_in_any_case_as_the_mock_s_paths_do(lwa_server: LwaServer, path: str) -> None:
    """The region as well as the rest: ``/sdk/NA/login1.js`` is ``/SDK/NA/LOGIN1.JS`` is ``/sdk/na/login1.js``."""
    answer = requests.get(lwa_server.url + path, timeout=5)
    assert answer.status_code == 200
    assert config(answer.text)["region"] == "na"


def popup_authorize(server: LwaServer, client_id: str, page: str, **headers: str) -> requests.Response:
    """``/ap/oa`` as the SDK's popup asks it: the redirect URI is the mock's relay page, naming ``page``."""
    query = {
        "client_id": client_id,
        "scope": "profile",
        "response_type": "code",
        "state": "s-1",
        "redirect_uri": f"{server.url}/ap/oa/popup?uri={quote(page, safe='')}",
    }
    return requests.get(f"{server.url}/ap/oa?{urlencode(query)}", headers=headers, allow_redirects=False, timeout=5)


def test_a_popup_from_an_allowed_origin_gets_its_code_through_the_relay(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(allowed_origins=[SITE])  # no return URL at all: the origin allows the popup
    answer = popup_authorize(lwa_server, client.client_id, SITE + "/shop/?item=1")
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == lwa_server.url + "/ap/oa/popup"
    query = parse_qs(back.query)
    assert query["uri"] == [SITE + "/shop/?item=1"]
    assert (query["scope"], query["state"]) == (["profile"], ["s-1"])
    # the popup's code is bound to no redirect URI: the site's server redeems it with its own
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": SITE + "/handle_login",
            "client_id": client.client_id, "client_secret": client.client_secret}  # fmt: skip
    token = requests.post(lwa_server.token_url, data=form, timeout=5)
    assert token.status_code == 200
    assert set(token.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}


def test_a_popup_from_another_origin_gets_amazon_s_page(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(allowed_origins=[SITE], redirect_uris=[SITE + "/handle_login"])
    page = popup_authorize(lwa_server, client.client_id, "http://127.0.0.1:8002/", Accept="text/html")
    assert page.status_code == 400
    assert page.headers["Content-Type"] == "text/html;charset=UTF-8"
    assert "<p>The domain on which you are using the JavaScript SDK has not been whitelisted.</p>" in page.text
    assert lwa_server.request_log[-1].reason == (
        "the SDK's popup was opened by a page at 'http://127.0.0.1:8002', which is not an Allowed Origin of"
        f" client {client.client_id!r} (its allowed_origins: 'http://127.0.0.1:8001');"
        " add_client(allowed_origins=[...]), or allowed_origins in serve's [[clients]], allows it"
    )
    api = popup_authorize(lwa_server, client.client_id, "javascript:alert(1)")
    assert api.status_code == 400
    assert api.content == (
        b'{"error_description":"The origin of the page is not an Allowed Origin for this client",'
        b'"error":"invalid_request"}'
    )
    assert "a page at 'no web origin'" in (lwa_server.request_log[-1].reason or "")


@pytest.mark.parametrize(
    "relay",
    [
        "https://evil.example/ap/oa/popup?uri=http%3A%2F%2F127.0.0.1%3A8001%2F",  # another host's "relay"
        "{url}/ap/oa/popup?uri=http%3A%2F%2F127.0.0.1%3A8001%2F&next=x",  # more than the page
        "{url}/ap/oa/popup?uri=http%3A%2F%2F127.0.0.1%3A8001%2F#frag",
        "{url}/ap/oa/popup",
    ],
)
def test_only_this_host_s_relay_naming_one_page_is_allowed_by_origin(lwa_server: LwaServer, relay: str) -> None:
    client = lwa_server.add_client(allowed_origins=[SITE], redirect_uris=[SITE + "/handle_login"])
    query = {"client_id": client.client_id, "scope": "profile", "response_type": "code",
             "redirect_uri": relay.format(url=lwa_server.url)}  # fmt: skip
    answer = requests.get(f"{lwa_server.url}/ap/oa?{urlencode(query)}", allow_redirects=False, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "The redirect_uri is missing or not registered for this client"


@pytest.mark.parametrize("bad", ["http://[::1/", "http://[shop]/", "http://]/"])
def test_a_url_python_cannot_split_is_no_web_page_nor_a_500(lwa_server: LwaServer, bad: str) -> None:
    """A bracketed host that is no IPv6 address, or an unclosed bracket: the redirect URI is not registered, the
    relay's page is at no web origin, the relay page posts nowhere."""
    client = lwa_server.add_client(allowed_origins=[SITE], redirect_uris=[SITE + "/handle_login"])
    query = {"client_id": client.client_id, "scope": "profile", "response_type": "code", "redirect_uri": bad}
    plain = requests.get(f"{lwa_server.url}/ap/oa?{urlencode(query)}", allow_redirects=False, timeout=5)
    assert plain.status_code == 400
    assert plain.json()["error_description"] == "The redirect_uri is missing or not registered for this client"
    relayed = popup_authorize(lwa_server, client.client_id, bad)
    assert relayed.status_code == 400
    assert relayed.json()["error_description"] == "The origin of the page is not an Allowed Origin for this client"
    assert "a page at 'no web origin'" in (lwa_server.request_log[-1].reason or "")
    page = requests.get(f"{lwa_server.url}/ap/oa/popup?{urlencode({'uri': bad, 'code': 'C'})}", timeout=5)
    assert page.status_code == 200
    assert 'var origin = "", answer = {"code":"C"};' in page.text
    assert lwa_server.request_log[-1].reason == f"the popup relay's uri parameter {bad!r} names no web page"
    assert lwa_server.errors == []


def test_the_relay_page_posts_the_answer_to_the_page_s_origin_only(lwa_server: LwaServer) -> None:
    query = {"uri": SITE + "/spa", "code": "C0DE", "scope": "profile", "state": "</script><b>"}
    page = requests.get(f"{lwa_server.url}/ap/oa/popup?{urlencode(query)}", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html;charset=UTF-8"
    assert 'var origin = "http://127.0.0.1:8001", answer = {"code":"C0DE","scope":"profile",' in page.text
    assert '"state":"\\u003c/script>\\u003cb>"}' in page.text  # nothing a parameter holds ends the script
    assert 'window.opener.postMessage({type: "lwa-authorize", answer: answer}, origin);' in page.text
    lost = requests.get(f"{lwa_server.url}/ap/oa/popup?uri=file%3A%2F%2F%2Fetc&code=C", timeout=5)
    assert 'var origin = "", answer = {"code":"C"};' in lost.text  # posts nowhere
    assert lwa_server.request_log[-1].reason == "the popup relay's uri parameter 'file:///etc' names no web page"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to check the script's syntax")
def test_the_served_script_is_valid_javascript(lwa_server: LwaServer, tmp_path: Path) -> None:
    script = tmp_path / "login1.js"
    script.write_bytes(requests.get(f"{lwa_server.url}/sdk/na/login1.js", timeout=5).content)
    checked = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
