"""Drives a running tokenvault through a Python client generated from openapi/openapi.json (by
openapi-python-client), checking the parsed models: providers, store, list, get, refresh against
the local provider, events, delete, and an access token; a webhook whose deliveries of those
events are verified with the `standardwebhooks` library.

Usage: check_client.py BASE_URL API_KEY PROVIDER_URL (the generated package `tokenvault_client`
must be importable).
"""

import datetime
import http.server
import json
import sys
import threading
import time
import urllib.request

from standardwebhooks.webhooks import Webhook

from tokenvault_client import AuthenticatedClient
from tokenvault_client.api.access_tokens import create_access_token
from tokenvault_client.api.providers import list_providers
from tokenvault_client.api.webhooks import create_webhook, list_webhook_deliveries
from tokenvault_client.api.tokens import (
    delete_token,
    get_token,
    list_token_events,
    list_tokens,
    refresh_token,
    store_token,
)
from tokenvault_client.models import (
    AccessToken,
    ApiKeyTokenData,
    CreateAccessTokenRequest,
    CreateWebhookRequest,
    CreatedWebhook,
    WebhookDelivery,
    WebhookEvent,
    DeleteTokenResponse,
    ErrorBody,
    EventKind,
    GetTokenResponse,
    OAuth2Secret,
    OAuth2TokenData,
    Outcome,
    RefreshTokenResponse,
    Revocation,
    StoreApiKeyTokenRequest,
    StoreApiKeyTokenRequestTokenType,
    StoreOAuth2TokenRequest,
    StoreOAuth2TokenRequestTokenType,
    StoreTokenResponse,
    TokenStatus,
    TokenType,
)
from tokenvault_client.models.api_key_token_data import ApiKeyTokenData as StoredApiKey

USER = "contract-user"
ACCESS = "ya29.contract-original"
REFRESH = "1//contract-refresh"


def expect(condition, what):
    if not condition:
        sys.exit(f"contract check failed: {what}")
    print(f"  ok  {what}")


def provider_calls(provider_url):
    with urllib.request.urlopen(f"{provider_url}/calls", timeout=5) as reply:
        return json.load(reply)


def store_credentials(client):
    google = StoreOAuth2TokenRequest(
        integration_key="google",
        provider="google",
        token_type=StoreOAuth2TokenRequestTokenType.OAUTH2,
        token_data=OAuth2TokenData(
            access_token=ACCESS,
            refresh_token=REFRESH,
            token_type="Bearer",
            client_id="contract-client.apps.googleusercontent.com",
            client_secret="contract-secret",
        ),
        scopes=["calendar", "email"],
        expires_at=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2),
    )
    reply = store_token.sync_detailed(USER, client=client, body=google)
    expect(reply.status_code == 201, "storeToken (oauth2) answers 201")
    stored = reply.parsed
    expect(isinstance(stored, StoreTokenResponse), "storeToken parses as StoreTokenResponse")
    expect(stored.token_type == TokenType.OAUTH2, "stored token_type is the enum oauth2")
    expect(isinstance(stored.created_at, datetime.datetime), "created_at parses as a datetime")
    openai = StoreApiKeyTokenRequest(
        integration_key="openai",
        provider="openai",
        token_type=StoreApiKeyTokenRequestTokenType.API_KEY,
        token_data=StoredApiKey(api_key="sk-contract", organization_id="org-1"),
    )
    reply = store_token.sync_detailed(USER, client=client, body=openai)
    expect(reply.status_code == 201, "storeToken (api_key) answers 201")


def read_credentials(client):
    reply = list_tokens.sync_detailed(USER, client=client)
    items = reply.parsed
    expect(reply.status_code == 200 and len(items) == 2, "listTokens lists both credentials")
    expect(all(i.status == TokenStatus.ACTIVE for i in items), "both are active (TokenStatus)")
    reply = get_token.sync_detailed(USER, "google", client=client)
    got = reply.parsed
    expect(isinstance(got, GetTokenResponse), "getToken parses as GetTokenResponse")
    expect(isinstance(got.token_data, OAuth2Secret), "oauth2 token_data parses as OAuth2Secret")
    expect(got.token_data.access_token == ACCESS, "the access token is typed and returned")
    expect(got.refreshed is False, "a fresh token is not refreshed")
    reply = get_token.sync_detailed(USER, "openai", client=client)
    expect(isinstance(reply.parsed.token_data, ApiKeyTokenData), "api_key parses as ApiKeyTokenData")
    expect(reply.parsed.token_data.api_key == "sk-contract", "the API key is returned")


def refresh_and_events(client, provider_url):
    reply = refresh_token.sync_detailed(USER, "google", client=client)
    expect(isinstance(reply.parsed, RefreshTokenResponse), "refreshToken parses")
    expect(reply.parsed.success, "refreshToken succeeded")
    calls = [c for c in provider_calls(provider_url) if c["grant_type"] == "refresh_token"]
    expect(len(calls) == 1, "the provider saw one refresh grant")
    expect(calls[0]["refresh_token"] == REFRESH, "with the stored refresh token")
    expect(calls[0]["client_id"] == "contract-client.apps.googleusercontent.com",
           "and the stored client id")
    reply = get_token.sync_detailed(USER, "google", client=client)
    expect(reply.parsed.token_data.access_token.startswith("ya29.contract-"),
           "getToken returns the provider's new access token")
    expect(reply.parsed.token_data.refresh_token == REFRESH, "Google's refresh token is kept")
    reply = list_token_events.sync_detailed(USER, "google", client=client, limit=10)
    events = reply.parsed
    kinds = [(e.event, e.outcome) for e in events]
    expect((EventKind.STORED, Outcome.CREATED) in kinds, "events record the store")
    expect((EventKind.REFRESH, Outcome.SUCCESS) in kinds, "events record the refresh")


def delete_and_access_token(client, base_url, provider_url):
    request = CreateAccessTokenRequest(expires_in="15m")
    minted = create_access_token.sync_detailed(client=client, body=request)
    expect(isinstance(minted.parsed, AccessToken), "createAccessToken parses as AccessToken")
    bearer = AuthenticatedClient(base_url=base_url, token=minted.parsed.access_token)
    reply = list_tokens.sync_detailed(USER, client=bearer)
    expect(reply.status_code == 200, "an access token (Bearer) lists the credentials")
    reply = delete_token.sync_detailed(USER, "google", client=client)
    expect(isinstance(reply.parsed, DeleteTokenResponse), "deleteToken parses")
    expect(reply.parsed.revocation == Revocation.REVOKED, "revoked at the provider")
    revokes = [c for c in provider_calls(provider_url) if c["path"].endswith("/revoke")]
    expect(len(revokes) == 1, "the provider saw one revocation")
    reply = get_token.sync_detailed(USER, "google", client=client)
    expect(reply.status_code == 404 and isinstance(reply.parsed, ErrorBody),
           "getToken of the deleted credential answers 404 ErrorBody")
    expect(reply.parsed.error == "not_found", "with the error code not_found")


class Receiver:
    """A local webhook endpoint that keeps what it receives (body and headers)."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((body, dict(self.headers.items())))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def create_hook(client, receiver):
    request = CreateWebhookRequest(url=receiver.url)
    reply = create_webhook.sync_detailed(client=client, body=request)
    expect(isinstance(reply.parsed, CreatedWebhook), "createWebhook parses as CreatedWebhook")
    expect(reply.parsed.secret.startswith("whsec_"), "the signing secret is whsec_…")
    return reply.parsed


def check_deliveries(client, hook, receiver):
    wanted = {WebhookEvent.CREDENTIAL_CONNECTED, WebhookEvent.CREDENTIAL_DELETED}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        deliveries = list_webhook_deliveries.sync(hook.id, client=client)
        if deliveries and all(d.state == "delivered" for d in deliveries) and \
                wanted <= {WebhookEvent(d.event_type) for d in deliveries}:
            break
        time.sleep(0.2)
    expect(all(isinstance(d, WebhookDelivery) for d in deliveries),
           "listWebhookDeliveries parses as WebhookDelivery")
    expect(all(d.state == "delivered" for d in deliveries), "every event was delivered")
    verifier = Webhook(hook.secret)
    types = set()
    for body, headers in receiver.received:
        payload = verifier.verify(body, headers)  # raises on a bad signature
        types.add(payload["type"])
        text = body.decode()
        expect(ACCESS not in text and REFRESH not in text and "contract-secret" not in text,
               f"{payload['type']}: the payload carries no secret")
    expect({w.value for w in wanted} <= types,
           "standardwebhooks verifies the signature of every delivery")


def main():
    base_url, api_key, provider_url = sys.argv[1:4]
    client = AuthenticatedClient(
        base_url=base_url, token=api_key, prefix="", auth_header_name="X-API-Key"
    )
    providers = list_providers.sync(client=client)
    expect(any(p.provider == "google" for p in providers), "listProviders includes google")
    receiver = Receiver()
    hook = create_hook(client, receiver)
    store_credentials(client)
    read_credentials(client)
    refresh_and_events(client, provider_url)
    delete_and_access_token(client, base_url, provider_url)
    check_deliveries(client, hook, receiver)
    print("generated client: every check passed")


if __name__ == "__main__":
    main()
