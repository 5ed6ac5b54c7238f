"""The Python client against a running tokenvault (started by clients/run-tests, which sets
TOKENVAULT_TEST_URL and TOKENVAULT_TEST_KEY; provider `acme` refreshes at the local
clients/testprovider.py and has its API there)."""

import asyncio
import os
import uuid

import pytest

from tokenvault import (AsyncVault, Forbidden, NotFound, ReauthorizeRequired, RetryLater,
                        Unauthorized, Vault)

URL = os.environ.get("TOKENVAULT_TEST_URL")
KEY = os.environ.get("TOKENVAULT_TEST_KEY", "")
PAST = "2020-01-01T00:00:00Z"

pytestmark = pytest.mark.skipif(not URL, reason="needs a running tokenvault (clients/run-tests)")


@pytest.fixture
def vault():
    with Vault(URL, KEY) as v:
        yield v


@pytest.fixture
def user():
    return f"py-{uuid.uuid4().hex[:12]}"


def oauth2(vault, user, refresh_token, expires_at=PAST):
    vault.store(user, "acme", provider="acme", token_type="oauth2",
                token_data={"access_token": "at-old", "refresh_token": refresh_token},
                expires_at=expires_at)


def test_store_get_with_a_refresh_and_delete(vault, user):
    oauth2(vault, user, "rt-good")
    credential = vault.get(user, "acme")
    assert credential.refreshed is True
    assert credential.secret.startswith("at-") and credential.secret != "at-old"
    assert credential.status == "active"
    assert "at-" not in repr(credential)
    assert vault.token(user, "acme") == credential.secret
    events = vault.events(user, "acme")
    assert [e.event for e in events][:2] == ["refresh", "stored"]
    assert vault.delete(user, "acme")["integration_key"] == "acme"
    with pytest.raises(NotFound):
        vault.get(user, "acme")


def test_a_rejected_refresh_token_is_reauthorize_required(vault, user):
    oauth2(vault, user, "rt-revoked")
    with pytest.raises(ReauthorizeRequired) as caught:
        vault.get(user, "acme")
    assert caught.value.status == 410 and caught.value.code == "connection_error"


def test_a_provider_outage_is_retry_later_with_retry_after(vault, user):
    oauth2(vault, user, "rt-down")
    with pytest.raises(RetryLater) as caught:
        vault.get(user, "acme")
    assert caught.value.status == 503 and caught.value.retry_after is not None


def test_proxy_uses_the_credential_without_handing_it_out(vault, user):
    vault.store(user, "acme-key", provider="acme", token_type="api_key",
                token_data={"api_key": "sk-acme-1"})
    answer = vault.proxy(user, "acme-key", "POST", "/api/things", params={"x": "1"},
                         json={"name": "n"})
    assert answer.status_code == 200
    echoed = answer.json()
    assert echoed["authorization"] == "Bearer sk-acme-1"
    assert echoed["x_api_key"] is None
    assert echoed["path"] == "/api/things?x=1"
    # The API's own error comes back as an answer; tokenvault's as an exception.
    assert vault.proxy(user, "acme-key", "GET", "/api/x",
                       headers={"X-Answer-Status": "404"}).status_code == 404
    with pytest.raises(NotFound):
        vault.proxy(user, "nothing", "GET", "/api/x")


def test_connect_link_points_at_the_provider(vault, user):
    link = vault.connect_link(user, "acme", redirect_uri="https://app.example/done",
                              scopes=["read"])
    assert "/authorize?" in link.url and "code_challenge=" in link.url
    assert link.connect_id.startswith("con_")


def test_keys_are_checked(user):
    with Vault(URL, "agk_not-a-real-key") as bad, pytest.raises(Unauthorized):
        bad.get(user, "acme")


def test_async_vault_does_the_same(user):
    async def run():
        async with AsyncVault(URL, KEY) as vault:
            await vault.store(user, "acme", provider="acme", token_type="oauth2",
                              token_data={"access_token": "at-old", "refresh_token": "rt-good"},
                              expires_at=PAST)
            token = await vault.token(user, "acme")
            assert token.startswith("at-") and token != "at-old"
            answer = await vault.proxy(user, "acme", "GET", "/api/me")
            assert answer.json()["authorization"] == f"Bearer {token}"
            await vault.delete(user, "acme")
            with pytest.raises(NotFound):
                await vault.get(user, "acme")
    asyncio.run(run())


def test_a_scoped_key_is_forbidden_where_its_scope_ends(vault, user):
    proxy_key = os.environ.get("TOKENVAULT_TEST_PROXY_KEY")
    if not proxy_key:
        pytest.skip("no proxy-only key given")
    vault.store(user, "acme-key", provider="acme", token_type="api_key",
                token_data={"api_key": "sk-acme-2"})
    with Vault(URL, proxy_key) as limited:
        assert limited.proxy(user, "acme-key", "GET", "/api/me").json()["authorization"] == \
            "Bearer sk-acme-2"
        with pytest.raises(Forbidden):
            limited.get(user, "acme-key")
