/** Errors tokenvault answers, as classes a caller can catch by meaning. Never carry a secret. */

export class TokenvaultError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The stable machine code of the JSON error (`not_found`, `connection_error`, …). */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
  }
}

/** 400 or 422: the request itself is wrong. */
export class InvalidRequest extends TokenvaultError {}
/** 401: no, unknown, revoked or expired API key or access token. */
export class Unauthorized extends TokenvaultError {}
/** 403: the key lacks the scope, or is bound to another user. */
export class Forbidden extends TokenvaultError {}
/** 404: no such credential. */
export class NotFound extends TokenvaultError {}
/** 410 `connection_error`: the provider rejected the refresh token; the user must reconnect. */
export class ReauthorizeRequired extends TokenvaultError {}

/** 503 or 429 (502/504 from the proxy): transient; `retryAfter` in seconds when given. */
export class RetryLater extends TokenvaultError {
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, retryAfter: number | undefined) {
    super(status, code, message);
    this.retryAfter = retryAfter;
  }
}

/** The error for a tokenvault error answer. */
export function errorFor(status: number, body: unknown, retryAfter: string | null): TokenvaultError {
  let code = `http_${status}`;
  let message = "";
  if (body !== null && typeof body === "object") {
    const fields = body as Record<string, unknown>;
    if (typeof fields["error"] === "string") code = fields["error"];
    if (typeof fields["message"] === "string") message = fields["message"];
  }
  if ([429, 502, 503, 504].includes(status)) {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
    return new RetryLater(status, code, message, seconds);
  }
  switch (status) {
    case 400:
    case 422:
      return new InvalidRequest(status, code, message);
    case 401:
      return new Unauthorized(status, code, message);
    case 403:
      return new Forbidden(status, code, message);
    case 404:
      return new NotFound(status, code, message);
    case 410:
      return new ReauthorizeRequired(status, code, message);
    default:
      return new TokenvaultError(status, code, message);
  }
}
