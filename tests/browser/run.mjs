// The pages for people in a real browser: Debian's Chromium driven by playwright-core, every
// page checked by axe-core (no serious or critical violation), screenshots saved under
// docs/screenshots/. Starts the real tokenvault binary (TOKENVAULT_BIN, default
// target/release/tokenvault) on a fresh database: SQLite, or PostgreSQL when TEST_DATABASE_URL
// names a server (a database of its own is created there).
//
//   node tests/browser/run.mjs          (from the repository root, after `npm ci` here)
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { startProvider, startReceiver, startApp, providersToml, CLIENT_ID, CLIENT_SECRET } from "./servers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const shots = join(root, "docs", "screenshots");
const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
const ADMIN = `agk_${randomBytes(16).toString("hex")}`;
const passed = [];
const audited = [];

function check(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
}

async function step(name, body) {
  const started = Date.now();
  await body();
  passed.push(name);
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A fresh database: its URL and how to run one SQL statement on it. */
function freshDatabase(dir) {
  const base = process.env.TEST_DATABASE_URL;
  if (base && base.startsWith("postgres")) {
    const name = `tv_browser_${randomBytes(6).toString("hex")}`;
    const server = new URL(base);
    const psql = (db, sql) => execFileSync("psql", ["-v", "ON_ERROR_STOP=1", "-qAt", "-h", server.hostname, "-p", server.port || "5432", "-U", decodeURIComponent(server.username || "postgres"), "-d", db, "-c", sql], { encoding: "utf8" });
    const home = server.pathname.slice(1) || "postgres";
    psql(home, `CREATE DATABASE ${name}`);
    server.pathname = `/${name}`;
    const drop = () => psql(home, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    return { url: server.toString(), sql: (s) => psql(name, s), kind: "postgres", drop };
  }
  const file = join(dir, "tokenvault.db");
  const sql = (s) => execFileSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", file, s]);
  return { url: `sqlite://${file}`, sql, kind: "sqlite", drop: () => {} };
}

const bin = process.env.TOKENVAULT_BIN || join(root, "target", "release", "tokenvault");

async function startTokenvault(env, dir) {
  const child = spawn(bin, [], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const url = env.TOKENVAULT_PUBLIC_URL;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return { child, url, log: () => log }; } catch { /* not yet */ }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tokenvault did not start:\n${log}`);
}

async function audit(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${name}: axe-core found ${bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`);
  audited.push(name);
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "tv-browser-"));
  mkdirSync(shots, { recursive: true });
  const provider = await startProvider();
  const receiver = await startReceiver();
  const port = await freePort();
  const tvUrl = `http://127.0.0.1:${port}`;
  const app = await startApp(tvUrl);
  const db = freshDatabase(dir);
  const providersFile = join(dir, "providers.toml");
  writeFileSync(providersFile, providersToml(provider.url));
  const tv = await startTokenvault({
    SECRET_TOKEN_ENC_KEY: execFileSync(bin, ["gen-key"], { encoding: "utf8" }).trim(),
    TOKENVAULT_BIND: `127.0.0.1:${port}`,
    TOKENVAULT_PUBLIC_URL: tvUrl,
    DATABASE_URL: db.url,
    TOKENVAULT_BOOTSTRAP_API_KEY: ADMIN,
    PROVIDERS_FILE: providersFile,
    TOKENVAULT_ACME_CLIENT_ID: CLIENT_ID,
    TOKENVAULT_ACME_CLIENT_SECRET: CLIENT_SECRET,
    TOKENVAULT_REDIRECT_ALLOWLIST: `${app.url}/`,
    TOKENVAULT_WEBHOOK_ALLOW_PRIVATE: "true",
    TOKENVAULT_WEBHOOK_RETRY_BASE_MS: "600000",
    RUST_LOG: "info",
  }, dir).catch((error) => { db.drop(); throw error; });
  console.log(`tokenvault on ${tvUrl} over ${db.kind}; provider ${provider.url}; app ${app.url}`);

  try {
    await exercise({ tv, tvUrl, db, provider, receiver, app });
  } finally {
    if (tv.child.exitCode === null) {
      tv.child.kill();
      await new Promise((r) => tv.child.once("exit", r));
    }
    db.drop();
    for (const s of [provider.server, receiver.server, app.server]) s.close();
  }
}

async function exercise({ tv, tvUrl, db, provider, receiver, app }) {
  const api = async (method, path, body, key = ADMIN) => {
    const response = await fetch(`${tvUrl}${path}`, {
      method, headers: { "X-API-Key": key, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const session = async (request) => {
    const made = await api("POST", "/v2/connect-sessions", request);
    check(made.status === 201, `connect session made: ${JSON.stringify(made)}`);
    check(made.body.url.startsWith(`${tvUrl}/connect/`), "the link is under the public URL");
    return made.body;
  };

  const webhook = await api("POST", "/v2/webhooks", { url: `${receiver.url}/hook`, events: ["credential.connected", "credential.invalid", "credential.deleted"] });
  check(webhook.status === 201, `webhook made: ${JSON.stringify(webhook)}`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const cspViolations = [];
  context.on("page", (p) => p.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); }));
  const page = await context.newPage();
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

  try {
    await step("connect page: redirect mode, OAuth consent, back to the app, credential stored", async () => {
      const link = await session({ user_id: "ada", providers: ["acme", "openai"], redirect_uri: `${app.url}/done` });
      const response = await page.goto(link.url);
      check(response.status() === 200, "the link opens");
      const headers = response.headers();
      check(headers["content-security-policy"].startsWith("default-src 'self'"), "CSP default-src 'self'");
      check(headers["x-frame-options"] === "DENY", "X-Frame-Options DENY");
      check(await page.getByRole("heading", { name: "Acme Cloud" }).isVisible(), "the provider's display name");
      check(await page.getByText("See your projects").isVisible(), "the scope labels");
      check(await page.getByText("OpenAI API keys start with sk-").isVisible(), "the key hint");
      await audit(page, "connect page");
      await page.screenshot({ path: join(shots, "connect-page.png"), fullPage: true });
      await page.setViewportSize({ width: 320, height: 640 });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      check(width <= 320, `readable at 320 px (scroll width ${width})`);
      await page.screenshot({ path: join(shots, "connect-page-320.png"), fullPage: true });
      await page.setViewportSize({ width: 1100, height: 800 });
      await page.getByRole("button", { name: "Connect Acme Cloud" }).click();
      await page.waitForURL(`${provider.url}/authorize**`);
      await page.click("#allow");
      await page.waitForURL(`${app.url}/done**`);
      check((await page.textContent("#landing")) === "connected", "the app's landing says connected");
      check((await page.textContent("#key")) === "acme", "with the integration key");
      const stored = await api("GET", "/v2/users/ada/tokens/acme");
      check(stored.status === 200 && provider.state.issued.includes(stored.body.token_data.access_token), "the credential is in the API");
      check(provider.state.refused.length === 0, `the provider refused nothing: ${provider.state.refused}`);
      const seen = await api("GET", `/v2/connect-sessions/${link.id}`);
      check(seen.body.connects.length === 1 && seen.body.connects[0].status === "connected" && seen.body.connects[0].flow === "authorization_code", "the session shows what it connected");
    });

    await step("connect page: an API key by keyboard, a wrong one refused and never shown back", async () => {
      const link = await session({ user_id: "ada", providers: ["openai"] });
      await page.goto(link.url);
      let focused = "";
      for (let i = 0; i < 20 && focused !== "openai-api_key"; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
      }
      check(focused === "openai-api_key", "the key field is reached with Tab");
      await page.keyboard.type("not-an-openai-key-123");
      await page.keyboard.press("Enter");
      await page.waitForSelector("[role=alert]");
      check((await page.textContent("[role=alert]")).includes("sk-"), "the refusal names the expected prefix");
      check(!(await page.content()).includes("not-an-openai-key-123"), "the wrong key is not rendered back");
      await audit(page, "connect page with a refusal");
      const key = `sk-proj-${randomBytes(12).toString("hex")}`;
      await page.fill("#openai-api_key", key);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Connected" }).waitFor();
      check(!(await page.content()).includes(key), "the key is not rendered on the end page");
      await audit(page, "connect end page");
      const stored = await api("GET", "/v2/users/ada/tokens/openai");
      check(stored.status === 200 && stored.body.token_data.api_key === key, "the API key is in the API");
      check(!tv.log().includes(key), "the key is in no log line");
      check(!tv.log().includes(link.url.split("/connect/")[1]), "the link's token is in no log line");
    });

    await step("connect page: popup mode hands the result to the opener and closes", async () => {
      const link = await session({ user_id: "bob", providers: ["acme"], popup: true });
      await page.goto(`${app.url}/opener?link=${encodeURIComponent(link.url)}`);
      const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#connect")]);
      await popup.waitForLoadState();
      await popup.getByRole("button", { name: "Connect Acme Cloud" }).click();
      await popup.waitForURL(`${provider.url}/authorize**`);
      await Promise.all([popup.waitForEvent("close"), popup.click("#allow")]);
      await page.waitForFunction(() => document.getElementById("result").textContent.length > 0);
      const result = JSON.parse(await page.textContent("#result"));
      check(result.type === "tokenvault:connected" && result.integration_key === "acme" && result.provider === "acme", `the opener got ${JSON.stringify(result)}`);
      check((await api("GET", "/v2/users/bob/tokens/acme")).status === 200, "bob's credential is in the API");
    });

    await step("connect page: an expired link, an unknown one, a form without its CSRF token", async () => {
      const link = await session({ user_id: "cy", providers: ["openai"], expires_in: 60 });
      const forged = await page.request.post(link.url, { form: { provider: "openai", api_key: "sk-forged-000000" }, maxRedirects: 0 });
      check(forged.status() === 403, `a post without the CSRF token is refused (${forged.status()})`);
      check((await api("GET", "/v2/users/cy/tokens/openai")).status === 404, "and nothing was stored");
      // Time passes: the link's expiry moves into the past in the database.
      db.sql(`UPDATE connect_sessions SET expires_at = '2000-01-01 00:00:00' WHERE id = '${link.id}'`);
      const response = await page.goto(link.url);
      check(response.status() === 410, `an expired link is 410 (${response.status()})`);
      check(await page.getByRole("heading", { name: "This link has expired" }).isVisible(), "and says so");
      await audit(page, "expired link");
      const unknown = await page.goto(`${tvUrl}/connect/nosuchtoken`);
      check(unknown.status() === 404, "an unknown link is 404");
    });

    await step("console: a non-admin key cannot sign in; an admin key can", async () => {
      const reader = await api("POST", "/v2/api-keys", { name: "reader", scopes: ["tokens:read"] });
      check(reader.status === 201, "a reader key");
      await page.goto(`${tvUrl}/console`);
      await page.waitForURL(`${tvUrl}/console/signin`);
      await audit(page, "console sign-in");
      await page.fill("#api_key", reader.body.key);
      await page.click("button[type=submit]");
      await page.waitForSelector("[role=alert]");
      check((await page.textContent("[role=alert]")).includes("admin API key"), "the reader key is refused");
      check(page.url() === `${tvUrl}/console/signin`, "and stays on the sign-in page");
      await page.fill("#api_key", ADMIN);
      await page.click("button[type=submit]");
      await page.waitForURL(`${tvUrl}/console/users`);
      const cookie = (await context.cookies()).find((c) => c.name === "tv_console");
      check(cookie && cookie.httpOnly && cookie.sameSite === "Strict", "the session cookie is HttpOnly, SameSite=Strict");
      check(!cookie.value.includes(ADMIN.slice(4)), "the cookie is not the key");
      await audit(page, "console users");
    });

    await step("console: find the user, see the connection go invalid, send a re-connect link, delete it", async () => {
      await page.fill("#q", "ad");
      await page.click("form[role=search] button");
      await page.getByRole("link", { name: "ada", exact: true }).click();
      await page.waitForURL(`${tvUrl}/console/users/ada`);
      const row = page.locator("tr", { has: page.getByRole("rowheader", { name: "acme" }) });
      check((await row.locator("td").nth(1).textContent()) === "active", "acme is active");
      provider.state.rejectRefresh = true;
      const refreshed = await api("POST", "/v2/users/ada/tokens/acme/refresh");
      check(refreshed.status === 410, `the provider's rejection is a 410 (${refreshed.status})`);
      await page.reload();
      check((await row.locator("td").nth(1).textContent()) === "invalid", "acme is now invalid in the console");
      check(!(await page.content()).includes(provider.state.issued[0]), "no token on the page");
      await audit(page, "console connections");
      await page.screenshot({ path: join(shots, "console-connections.png"), fullPage: true });
      await page.getByRole("link", { name: "acme" }).click();
      await page.getByRole("heading", { name: "Events of acme" }).waitFor();
      check((await page.locator("tbody tr").count()) >= 2, "the connection's events are listed");
      await audit(page, "console events");
      await page.goBack();
      await row.getByRole("button", { name: "Send a re-connect link" }).click();
      const reconnect = (await page.textContent("#reconnect-link")).trim();
      check(reconnect.startsWith(`${tvUrl}/connect/`), "a re-connect link is shown");
      const other = await context.newPage();
      await other.goto(reconnect);
      check(await other.getByRole("button", { name: "Connect Acme Cloud" }).isVisible(), "the link offers acme");
      check((await other.locator(".card").count()) === 1, "and only acme");
      await other.close();
      page.once("dialog", (dialog) => dialog.accept());
      await page.getByRole("button", { name: "Delete acme" }).click();
      await page.getByText("Deleted acme").waitFor();
      check((await api("GET", "/v2/users/ada/tokens/acme")).status === 404, "and the credential is gone from the API");
    });

    await step("console: create an API key (shown once) and revoke it", async () => {
      await page.getByRole("link", { name: "API keys" }).click();
      await page.waitForURL(`${tvUrl}/console/keys`);
      await audit(page, "console API keys");
      await page.fill("#name", "from-the-console");
      await page.getByRole("button", { name: "Create key" }).click();
      const key = (await page.textContent("#new-key")).trim();
      check(key.startsWith("agk_"), "the new key is shown");
      check((await api("GET", "/v2/users/ada/tokens", undefined, key)).status === 200, "the new key works");
      await page.goto(`${tvUrl}/console/keys`);
      check(!(await page.content()).includes(key), "and is not shown again");
      page.once("dialog", (dialog) => dialog.accept());
      await page.getByRole("button", { name: "Revoke from-the-console" }).click();
      await page.waitForSelector("[role=status]");
      check((await api("GET", "/v2/users/ada/tokens", undefined, key)).status === 401, "the revoked key no longer works");
      await page.screenshot({ path: join(shots, "console-keys.png"), fullPage: true });
    });

    await step("console: retry a failed webhook delivery", async () => {
      await page.getByRole("link", { name: "Webhooks" }).click();
      await audit(page, "console webhooks");
      await page.getByRole("link", { name: `${receiver.url}/hook` }).click();
      await page.waitForURL(`${tvUrl}/console/webhooks/**`);
      for (let i = 0; i < 100 && receiver.state.failed === 0; i++) await new Promise((r) => setTimeout(r, 100));
      check(receiver.state.failed > 0, "a delivery failed");
      await page.reload();
      await audit(page, "console deliveries");
      receiver.state.ok = true;
      const retried = page.locator("tr", { has: page.getByRole("button", { name: "Retry now" }) }).first();
      const message = (await retried.locator("td").first().textContent()).trim();
      await retried.getByRole("button", { name: "Retry now" }).click();
      await page.getByText(`${message} will be sent again now.`).waitFor();
      const row = page.locator("tr", { has: page.getByRole("cell", { name: message, exact: true }) });
      let state = "";
      for (let i = 0; i < 50 && state !== "delivered"; i++) {
        await new Promise((r) => setTimeout(r, 200));
        await page.reload();
        state = (await row.locator("td").nth(2).textContent()).trim();
      }
      check(state === "delivered", `the retried delivery arrived and shows as delivered (${state})`);
      check(receiver.state.received >= 1, "the receiver got it");
    });

    await step("console: providers, a form without its CSRF token, sign out", async () => {
      await page.getByRole("link", { name: "Providers" }).click();
      check(await page.getByRole("rowheader", { name: /Acme Cloud/ }).isVisible(), "the added provider is listed");
      await audit(page, "console providers");
      await page.goto(`${tvUrl}/console/keys`);
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${tvUrl}/console/keys` && r.request().method() === "POST"),
        page.evaluate(() => {
          const form = document.querySelector("form[action='/console/keys']");
          form.querySelector("[name=_csrf]").remove();
          form.querySelector("#name").value = "forged";
          form.submit();
        }),
      ]);
      check(refused.status() === 403, `a form without its CSRF token is refused (${refused.status()})`);
      await page.getByRole("heading", { name: /Refused/ }).waitFor();
      await audit(page, "console refusal");
      const keys = await api("GET", "/v2/api-keys");
      check(!keys.body.some((k) => k.name === "forged"), "and made no key");
      await page.goto(`${tvUrl}/console/users`);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${tvUrl}/console/signin`);
      await page.goto(`${tvUrl}/console/users`);
      check(page.url() === `${tvUrl}/console/signin`, "signed out: the console asks to sign in again");
    });

    check(cspViolations.length === 0, `no Content-Security-Policy violation: ${cspViolations.join(" | ")}`);
    check(!tv.log().includes(ADMIN), "the admin key is in no log line");
  } catch (error) {
    console.error(tv.log().split("\n").slice(-40).join("\n"));
    throw error;
  } finally {
    await browser.close();
  }
  console.log(`browser tests passed on ${db.kind}: ${passed.length} steps, ${audited.length} pages audited by axe-core`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
