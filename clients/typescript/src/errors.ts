/**
 * GatepassError is a final refusal: gatepass answered 400, 403, 404 or 413
 * (or another 4xx), or 401 even after a second identity token. Asking
 * again cannot help, so nothing here retries it. `code` is the problem's
 * `code` (`channel_not_allowed`, `no_organization`, `invalid_room`...) or,
 * from the token exchange, the OAuth `error` (`invalid_target`...).
 */
export class GatepassError extends Error {
  /** The problem's stable code. */
  readonly code: string;
  /** The HTTP status gatepass answered. */
  readonly status: number;
  /** Always false: a final refusal is never retried. */
  readonly retryable = false as const;
  /** The problem's `detail`, or the OAuth `error_description`, when given. */
  readonly detail: string | undefined;

  constructor(status: number, code: string, detail?: string) {
    super(`gatepass refused the grant: ${status} ${code}${detail ? `: ${detail}` : ""}`);
    this.name = "GatepassError";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/**
 * GatepassUnavailableError says gatepass could not be reached, or kept
 * answering 429 or 5xx, through every retry. Asking again later may
 * succeed: the transports' own reconnect logic takes over from here.
 */
export class GatepassUnavailableError extends Error {
  /** The last HTTP status, or undefined after a network error. */
  readonly status: number | undefined;
  /** The last problem code, when gatepass answered with one. */
  readonly code: string | undefined;
  /** Always true. */
  readonly retryable = true as const;

  constructor(message: string, status?: number, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GatepassUnavailableError";
    this.status = status;
    this.code = code;
  }
}

/** isFinal says whether err is a refusal that asking again cannot change. */
export function isFinal(err: unknown): err is GatepassError {
  return err instanceof GatepassError;
}
