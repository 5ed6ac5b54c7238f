/**
 * @tokenvault/client — a client of tokenvault for Node ≥ 18 (global `fetch`), no runtime
 * dependency. Types come from `schema.ts`, generated from openapi/openapi.json.
 *
 *   const vault = new Vault("http://127.0.0.1:8000", process.env.TOKENVAULT_API_KEY!);
 *   const token = await vault.token("user-42", "google");
 */

import type { components } from "./schema.js";
import { errorFor } from "./errors.js";

export * from "./errors.js";
export type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
/** A usable credential, as `GET /v2/users/{user}/tokens/{integration}` answers it. */
export type Credential = Schemas["GetTokenResponse"];
export type TokenEvent = Schemas["TokenEvent"];
export type StoreTokenResponse = Schemas["StoreTokenResponse"];
export type DeleteTokenResponse = Schemas["DeleteTokenResponse"];

/** What `store` sends: a credential of any kind (the server checks its fields). */
export interface StoreBody {
  integration_key: string;
  provider: string;
  token_type: string;
  token_data: Record<string, unknown>;
  scopes?: string[];
  expires_at?: string;
}

export interface VaultOptions {
  /** Each call gives up after this long (10 000 ms by default). */
  timeoutMs?: number;
  /** Another `fetch` (tests, instrumented clients). */
  fetch?: typeof fetch;
}

export interface ProxyInit {
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Query parameters added to `path`. */
  query?: Record<string, string>;
  /** Retry 429 and 503 answers up to this many times (0–3), honouring `Retry-After`. */
  retries?: number;
}

export interface ConnectLink {
  /** Where to send the user's browser. */
  url: string;
  connectId: string;
  expiresAt: string | undefined;
}

/** The secret to send to the provider: access token, API key, JWT, or a Basic header value. */
export function secretOf(credential: Credential): string {
  const data = credential.token_data as Record<string, unknown>;
  for (const name of ["access_token", "api_key", "token", "authorization"]) {
    const value = data[name];
    if (typeof value === "string" && value !== "") return value;
  }
  throw new Error("the credential holds no usable secret");
}

const segment = (value: string): string => encodeURIComponent(value);

/** A client of one tokenvault server. `apiKey` is an `agk_…` key or an `agat_…` access token. */
export class Vault {
  readonly #base: string;
  readonly #auth: [string, string];
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(url: string, apiKey: string, options: VaultOptions = {}) {
    this.#base = url.replace(/\/+$/, "");
    this.#auth = apiKey.startsWith("agat_") ? ["Authorization", `Bearer ${apiKey}`] : ["X-API-Key", apiKey];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The usable credential, refreshed first when it is about to expire. */
  async get(user: string, integration: string, options: { forceRefresh?: boolean; minValidity?: number } = {}): Promise<Credential> {
    const query = new URLSearchParams();
    if (options.forceRefresh) query.set("force_refresh", "true");
    if (options.minValidity !== undefined) query.set("min_validity", String(options.minValidity));
    const text = query.toString();
    const suffix = text !== "" ? `?${text}` : "";
    return (await this.#json("GET", `/v2/users/${segment(user)}/tokens/${segment(integration)}${suffix}`)) as Credential;
  }

  /** Just the secret to send to the provider. */
  async token(user: string, integration: string): Promise<string> {
    return secretOf(await this.get(user, integration));
  }

  /** Stores (or replaces) a credential. */
  async store(user: string, body: StoreBody): Promise<StoreTokenResponse> {
    return (await this.#json("POST", `/v2/users/${segment(user)}/tokens`, body)) as StoreTokenResponse;
  }

  /** Deletes a credential, revoking it at the provider first unless `revoke: false`. */
  async delete(user: string, integration: string, options: { revoke?: boolean } = {}): Promise<DeleteTokenResponse> {
    const suffix = options.revoke === false ? "?revoke=false" : "";
    return (await this.#json("DELETE", `/v2/users/${segment(user)}/tokens/${segment(integration)}${suffix}`)) as DeleteTokenResponse;
  }

  /** The credential's audit events, newest first. */
  async events(user: string, integration: string, options: { limit?: number } = {}): Promise<TokenEvent[]> {
    const suffix = options.limit !== undefined ? `?limit=${options.limit}` : "";
    return (await this.#json("GET", `/v2/users/${segment(user)}/tokens/${segment(integration)}/events${suffix}`)) as TokenEvent[];
  }

  /**
   * Calls the provider's API with the credential, which never reaches this process. Resolves
   * with the API's own answer (any status); rejects only for errors tokenvault made itself.
   */
  async proxy(user: string, integration: string, method: string, path: string, init: ProxyInit = {}): Promise<Response> {
    const query = init.query ? `?${new URLSearchParams(init.query)}` : "";
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.retries) headers["X-Tokenvault-Retries"] = String(init.retries);
    const url = `/v2/users/${segment(user)}/proxy/${segment(integration)}/${path.replace(/^\/+/, "")}${query}`;
    const response = await this.#send(method.toUpperCase(), url, headers, init.body);
    if (response.headers.get("x-tokenvault-error") === "true") {
      throw errorFor(response.status, await response.json().catch(() => null), response.headers.get("retry-after"));
    }
    return response;
  }

  /** Starts connecting the user's account: send their browser to the link's `url`. */
  async connectLink(user: string, provider: string, options: { redirectUri: string; scopes?: string[]; integrationKey?: string }): Promise<ConnectLink> {
    const body: Record<string, unknown> = { provider, redirect_uri: options.redirectUri };
    if (options.scopes) body["scopes"] = options.scopes;
    if (options.integrationKey) body["integration_key"] = options.integrationKey;
    const answer = (await this.#json("POST", `/v2/users/${segment(user)}/connect`, body)) as Schemas["ConnectResponse"];
    return { url: answer.authorization_url, connectId: answer.connect_id, expiresAt: answer.expires_at };
  }

  async #send(method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array<ArrayBuffer>): Promise<Response> {
    const [name, value] = this.#auth;
    return this.#fetch(`${this.#base}${path}`, {
      method,
      headers: { ...headers, [name]: value },
      body: body ?? null,
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
  }

  async #json(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.#send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    const parsed: unknown = await response.json().catch(() => null);
    if (!response.ok) throw errorFor(response.status, parsed, response.headers.get("retry-after"));
    return parsed;
  }
}
