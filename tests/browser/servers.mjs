// The local parties of the browser tests, each a real HTTP server on 127.0.0.1:
// - an OAuth 2.0 authorization server ("Acme Cloud") with a consent page that checks what it
//   receives: the registered client (HTTP Basic at the token endpoint), the redirect URI, PKCE S256;
//   it can be told to reject refresh tokens (invalid_grant), as a provider does after a user
//   revokes access;
// - a webhook receiver that answers 500 until told otherwise;
// - the app's own pages: the landing of a redirect and a page that opens the popup with
//   tokenvault's /connect.js.
import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";

export const CLIENT_ID = "acme-client-browser";
export const CLIENT_SECRET = "acme-secret-browser";

function listen(handler) {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    resolve({ server, url: `http://127.0.0.1:${server.address().port}` });
  }));
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(value));
}

function page(res, title, inner) {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main>${inner}</main></body></html>`);
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const b64url = (buf) => buf.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The authorization server. `state.refused` lists what it refused and why. */
export async function startProvider() {
  const state = { codes: new Map(), refresh: new Map(), refused: [], revoked: [], rejectRefresh: false, issued: [] };
  const issue = (user) => {
    const access = `acme_at_${randomBytes(12).toString("hex")}`;
    const refresh = `acme_rt_${randomBytes(12).toString("hex")}`;
    state.refresh.set(refresh, user);
    state.issued.push(access);
    return { access_token: access, refresh_token: refresh, token_type: "Bearer", expires_in: 3600, scope: "projects.read files.write" };
  };
  const refuse = (res, why, error = "invalid_request") => {
    state.refused.push(why);
    json(res, 400, { error, error_description: why });
  };
  const { server, url } = await listen(async (req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/authorize") {
      const q = u.searchParams;
      if (q.get("client_id") !== CLIENT_ID) return refuse(res, "unknown client_id");
      if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) return refuse(res, "PKCE S256 required");
      if (!/\/v2\/oauth\/callback$/.test(q.get("redirect_uri") || "")) return refuse(res, "unregistered redirect_uri");
      const code = `acme_code_${randomBytes(12).toString("hex")}`;
      state.codes.set(code, { challenge: q.get("code_challenge"), redirect: q.get("redirect_uri") });
      const back = (params) => `${q.get("redirect_uri")}?${new URLSearchParams({ ...params, state: q.get("state") })}`;
      return page(res, "Acme Cloud: allow access?", `<h1>Allow tokenvault to use your Acme Cloud account?</h1>
        <p>Scopes: ${escape(q.get("scope"))}</p>
        <p><a id="allow" href="${escape(back({ code }))}">Allow</a> <a id="deny" href="${escape(back({ error: "access_denied" }))}">Deny</a></p>`);
    }
    if (u.pathname === "/token" && req.method === "POST") {
      const form = new URLSearchParams(await body(req));
      const basic = (req.headers.authorization || "").replace(/^Basic /, "");
      const [id, secret] = Buffer.from(basic, "base64").toString("utf8").split(":").map(decodeURIComponent);
      if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return refuse(res, "client authentication failed", "invalid_client");
      if (form.get("grant_type") === "authorization_code") {
        const grant = state.codes.get(form.get("code"));
        state.codes.delete(form.get("code"));
        if (!grant) return refuse(res, "unknown or used code", "invalid_grant");
        if (form.get("redirect_uri") !== grant.redirect) return refuse(res, "redirect_uri differs", "invalid_grant");
        const challenge = b64url(createHash("sha256").update(form.get("code_verifier") || "").digest());
        if (challenge !== grant.challenge) return refuse(res, "PKCE verifier does not match", "invalid_grant");
        return json(res, 200, issue("ada@acme.test"));
      }
      if (form.get("grant_type") === "refresh_token") {
        const user = state.refresh.get(form.get("refresh_token"));
        if (!user || state.rejectRefresh) return refuse(res, "refresh token revoked", "invalid_grant");
        state.refresh.delete(form.get("refresh_token"));
        return json(res, 200, issue(user));
      }
      return refuse(res, "unsupported grant_type", "unsupported_grant_type");
    }
    if (u.pathname === "/userinfo") {
      const token = (req.headers.authorization || "").replace(/^Bearer /, "");
      if (!state.issued.includes(token)) return json(res, 401, { error: "invalid_token" });
      return json(res, 200, { sub: "acme-user-7", email: "ada@acme.test" });
    }
    if (u.pathname === "/revoke" && req.method === "POST") {
      state.revoked.push(new URLSearchParams(await body(req)).get("token"));
      res.writeHead(200); return res.end();
    }
    if (u.pathname === "/docs") return page(res, "Acme Cloud OAuth", "<h1>Acme Cloud OAuth</h1>");
    res.writeHead(404); res.end();
  });
  return { server, url, state };
}

/** The providers file that adds Acme Cloud to the catalogue. */
export function providersToml(url) {
  return `[acme]
docs_url = "https://docs.acme.test/oauth"
display_name = "Acme Cloud"
description = "Projects and files of an Acme Cloud account"
token_types = ["oauth2"]
env_var = "ACME_TOKEN"
token_lifetime = "1 hour"
token_url = "${url}/token"
authorize_url = "${url}/authorize"
userinfo_url = "${url}/userinfo"
default_scopes = ["projects.read", "files.write"]
client_auth = "basic"
rotates_refresh_token = true
[acme.scopes]
"projects.read" = "See your projects"
"files.write" = "Create and change your files"
[acme.revoke]
url = "${url}/revoke"
method = "POST"
auth = "none"
format = "form"
token_field = "token"
token = "refresh"
`;
}

/** A webhook receiver: 500 until `state.ok`, then 204; `state.received` counts deliveries. */
export async function startReceiver() {
  const state = { ok: false, received: 0, failed: 0 };
  const { server, url } = await listen(async (req, res) => {
    await body(req);
    if (state.ok) { state.received += 1; res.writeHead(204); return res.end(); }
    state.failed += 1;
    res.writeHead(500); res.end("not now");
  });
  return { server, url, state };
}

/** The app: `/done` (a redirect's landing) and `/opener?link=…` (opens the popup). */
export async function startApp(tokenvaultUrl) {
  const { server, url } = await listen(async (req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/done") {
      return page(res, "App: back from tokenvault", `<h1 id="landing">${escape(u.searchParams.get("status"))}</h1><p id="key">${escape(u.searchParams.get("integration_key") || u.searchParams.get("error"))}</p>`);
    }
    if (u.pathname === "/opener") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title>
<script src="${tokenvaultUrl}/connect.js"></script></head><body><main>
<button id="connect">Connect an account</button><pre id="result"></pre>
<script>
document.getElementById("connect").addEventListener("click", function () {
  tokenvault.connect(${JSON.stringify(u.searchParams.get("link") || "")})
    .then(function (result) { document.getElementById("result").textContent = JSON.stringify(result); })
    .catch(function (error) { document.getElementById("result").textContent = "error: " + error.message; });
});
</script></main></body></html>`);
    }
    res.writeHead(404); res.end();
  });
  return { server, url };
}
