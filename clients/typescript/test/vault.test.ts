// The TypeScript client against a running tokenvault (clients/run-tests sets
// TOKENVAULT_TEST_URL and TOKENVAULT_TEST_KEY; provider `acme` refreshes at the local
// clients/testprovider.py and has its API there).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { NotFound, ReauthorizeRequired, RetryLater, Unauthorized, Vault, secretOf } from "../src/index.js";

const url = process.env["TOKENVAULT_TEST_URL"];
const key = process.env["TOKENVAULT_TEST_KEY"] ?? "";
const skip = url === undefined ? "needs a running tokenvault (clients/run-tests)" : false;
const PAST = "2020-01-01T00:00:00Z";

const vault = (): Vault => new Vault(url ?? "", key);
const user = (): string => `ts-${randomUUID().slice(0, 12)}`;

async function oauth2(v: Vault, u: string, refreshToken: string): Promise<void> {
  await v.store(u, {
    integration_key: "acme",
    provider: "acme",
    token_type: "oauth2",
    token_data: { access_token: "at-old", refresh_token: refreshToken },
    expires_at: PAST,
  });
}

test("store, get with a refresh, events, delete", { skip }, async () => {
  const v = vault();
  const u = user();
  await oauth2(v, u, "rt-good");
  const credential = await v.get(u, "acme");
  assert.equal(credential.refreshed, true);
  const secret = secretOf(credential);
  assert.match(secret, /^at-\d+$/);
  assert.equal(await v.token(u, "acme"), secret);
  const events = await v.events(u, "acme");
  assert.deepEqual(events.slice(0, 2).map((e) => e.event), ["refresh", "stored"]);
  assert.equal((await v.delete(u, "acme")).integration_key, "acme");
  await assert.rejects(v.get(u, "acme"), NotFound);
});

test("a rejected refresh token is ReauthorizeRequired", { skip }, async () => {
  const v = vault();
  const u = user();
  await oauth2(v, u, "rt-revoked");
  await assert.rejects(v.get(u, "acme"), (e: unknown) => e instanceof ReauthorizeRequired && e.code === "connection_error");
});

test("a provider outage is RetryLater with retryAfter", { skip }, async () => {
  const v = vault();
  const u = user();
  await oauth2(v, u, "rt-down");
  await assert.rejects(v.get(u, "acme"), (e: unknown) => e instanceof RetryLater && e.status === 503 && e.retryAfter !== undefined);
});

test("proxy uses the credential without handing it out", { skip }, async () => {
  const v = vault();
  const u = user();
  await v.store(u, { integration_key: "acme-key", provider: "acme", token_type: "api_key", token_data: { api_key: "sk-acme-ts" } });
  const answer = await v.proxy(u, "acme-key", "POST", "/api/things", {
    query: { x: "1" },
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: "n" }),
  });
  assert.equal(answer.status, 200);
  const echoed = (await answer.json()) as Record<string, unknown>;
  assert.equal(echoed["authorization"], "Bearer sk-acme-ts");
  assert.equal(echoed["x_api_key"], null);
  assert.equal(echoed["path"], "/api/things?x=1");
  const notFound = await v.proxy(u, "acme-key", "GET", "/api/x", { headers: { "X-Answer-Status": "404" } });
  assert.equal(notFound.status, 404);
  await assert.rejects(v.proxy(u, "nothing", "GET", "/api/x"), NotFound);
});

test("connect link points at the provider", { skip }, async () => {
  const link = await vault().connectLink(user(), "acme", { redirectUri: "https://app.example/done", scopes: ["read"] });
  assert.match(link.url, /\/authorize\?.*code_challenge=/);
  assert.match(link.connectId, /^con_/);
});

test("a wrong key is Unauthorized", { skip }, async () => {
  await assert.rejects(new Vault(url ?? "", "agk_not-a-real-key").get(user(), "acme"), Unauthorized);
});
