"""ask-sdk-model-runtime's LwaClient, as Alexa skills use it for skill messaging.

Its DefaultApiClient refuses plain http ("Requests against non-HTTPS endpoints are not allowed"), so
these tests use `lwa_https_server` and trust its certificate authority through REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import pytest

pytest.importorskip("ask_sdk_core", reason="this example needs ask-sdk-core: pip install ask-sdk-core")
pytest.importorskip(
    "ask_sdk_model_runtime", reason="this example needs ask-sdk-model-runtime: pip install ask-sdk-model-runtime"
)

from ask_sdk_core.api_client import DefaultApiClient
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model_runtime import ApiConfiguration, AuthenticationConfiguration, ServiceException
from ask_sdk_model_runtime.lwa import LwaClient

from pytest_lwa import Client, LwaServer

SKILL_MESSAGING = "alexa:skill_messaging"


def lwa_client(server: LwaServer, app: Client, *, refresh_token: str | None = None) -> LwaClient:
    configuration = ApiConfiguration(
        serializer=DefaultSerializer(), api_client=DefaultApiClient(), api_endpoint=server.url
    )
    credentials = AuthenticationConfiguration(
        client_id=app.client_id, client_secret=app.client_secret, refresh_token=refresh_token
    )
    grant = "refresh_token" if refresh_token else None
    return LwaClient(api_configuration=configuration, authentication_configuration=credentials, grant_type=grant)


@pytest.fixture
def trusted(lwa_https_server: LwaServer, monkeypatch: pytest.MonkeyPatch) -> LwaServer:
    assert lwa_https_server.ca_bundle is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", lwa_https_server.ca_bundle)
    return lwa_https_server


def test_skill_messaging_token_is_cached(trusted: LwaServer) -> None:
    app = trusted.add_client(scopes=[SKILL_MESSAGING])
    client = lwa_client(trusted, app)
    token = client.get_access_token_for_scope(SKILL_MESSAGING)
    assert token.startswith("Atc|")
    assert client.get_access_token_for_scope(SKILL_MESSAGING) == token
    # the SDK posts to /auth/O2/token, capital O, as Amazon's own documentation does
    (request,) = trusted.assert_token_requests(count=1, scope=SKILL_MESSAGING)
    assert request.path == "/auth/O2/token"


def test_refresh_token_grant(trusted: LwaServer) -> None:
    app = trusted.add_client()
    refresh = trusted.issue_refresh_token(app, scopes=["alexa::ask:skills:readwrite"])
    token = lwa_client(trusted, app, refresh_token=refresh).get_access_token_from_refresh_token()
    assert trusted.verify(token, scopes=["alexa::ask:skills:readwrite"]).user_id == trusted.default_user.user_id


def test_unknown_scope_is_a_service_exception(trusted: LwaServer) -> None:
    app = trusted.add_client(scopes=[SKILL_MESSAGING])
    with pytest.raises(ServiceException) as caught:
        lwa_client(trusted, app).get_access_token_for_scope("alexa::proactive_events")
    assert caught.value.status_code == 400
    assert caught.value.body.error_description == "The request has an invalid parameter : scope"
