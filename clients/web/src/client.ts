// The browser side of the public feedback endpoints. It never sends credentials: the
// feedback token alone authorizes a vote, so no API key may ever reach a browser.

export type Outcome = "positive" | "negative";

/** The saved vote for one run and user, as the GET endpoint reports it. */
export interface SavedFeedback {
  outcome: Outcome | null;
  /**
   * The saved comment: a string, `null` for none, or `undefined` when the server did not say
   * (the GET endpoint may not report comments).
   */
  comment?: string | null;
}

/** The stored entry the POST endpoint returns. */
export interface FeedbackEntry {
  id: string;
  outcome: Outcome;
  /**
   * The stored comment, or `undefined` when the server did not say: after `keepComment` with a token that is
   * not bound to the end user, the comment kept is not shown (the GET endpoint does not show it either).
   */
  comment: string | null | undefined;
  userID: string | null;
}

/** The entry after `retractFeedback`: its vote taken back. */
export interface RetractedFeedback {
  id: string;
  outcome: null;
  userID: string | null;
}

interface RequestOptions {
  /** Base URL of the API, e.g. `https://api.example.com` or `https://host/prod`. */
  apiUrl: string;
  /** Aborts the request; the promise then rejects with a `FeedbackError` whose code is `aborted`. */
  signal?: AbortSignal;
  /** Replaces the global `fetch` (tests, older runtimes, instrumentation). */
  fetch?: typeof fetch;
}

export interface SendFeedbackOptions extends RequestOptions {
  feedbackToken: string;
  outcome: Outcome;
  /** Optional free text; blank or whitespace-only is sent as no comment. */
  comment?: string | null;
  /**
   * Your own id for the end user. One vote is kept per run and user; omit it for anonymous. Sent in
   * its one canonical form (see `canonicalUserID`), so any spelling of an id is the same user. With
   * a token bound to an end user (your backend named them on the run), omit it or send that user's id.
   */
  userID?: string | null;
  /**
   * Keep the comment the server holds and change only the outcome (`comment` is then not sent).
   * What to send when the saved comment is not known: a post otherwise replaces the whole entry.
   */
  keepComment?: boolean;
}

export interface GetFeedbackOptions extends RequestOptions {
  feedbackToken: string;
  /** As in `sendFeedback`: sent in its canonical form. */
  userID?: string | null;
}

/** Whose vote `retractFeedback` takes back: as in `getFeedback`. */
export type RetractFeedbackOptions = GetFeedbackOptions;

/**
 * Every failure of `sendFeedback` and `getFeedback` rejects with this error. `status` is the
 * HTTP status, or 0 when no response arrived (network failure, abort, bad argument).
 */
export class FeedbackError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FeedbackError";
    this.status = status;
    this.code = code;
  }
}

const OUTCOMES: readonly string[] = ["positive", "negative"];

/**
 * The form of an end-user id the API keeps: Unicode NFC, surrounding white space removed. "josé"
 * typed as one code point or as "e" plus a combining accent is one user, and " alice " is "alice"
 * (the server applies the same rule; doing it here keeps the request what the server stores).
 * Blank, or no id at all, is `null`: the vote is anonymous.
 */
export function canonicalUserID(userID: string | null | undefined): string | null {
  if (typeof userID !== "string") return null;
  return userID.normalize("NFC").trim() || null;
}

export async function sendFeedback(options: SendFeedbackOptions): Promise<FeedbackEntry> {
  const { feedbackToken, outcome, comment } = options;
  const userID = canonicalUserID(options.userID);
  requireToken(feedbackToken);
  if (!OUTCOMES.includes(outcome)) {
    throw new FeedbackError(0, "invalid_argument", 'outcome must be "positive" or "negative".');
  }
  const body: Record<string, string | boolean> = { feedback_token: feedbackToken, outcome };
  const trimmed = typeof comment === "string" ? comment.trim() : "";
  if (options.keepComment) body.keep_comment = true;
  else if (trimmed) body.comment = trimmed;
  if (userID) body.user_id = userID;

  const data = await request(options, "", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!isRecord(data) || !isOutcome(data.outcome)) throw invalidResponse();
  return {
    id: typeof data.id === "string" ? data.id : String(data.id ?? ""),
    outcome: data.outcome,
    comment: !("comment" in data) ? undefined : typeof data.comment === "string" ? data.comment : null,
    userID: typeof data.user_id === "string" && data.user_id ? data.user_id : null,
  };
}

/**
 * Takes the end user's vote back (`DELETE /v1/feedback`): the entry leaves every count, and the
 * run's user cap gets its place back. Rejects with a `FeedbackError` whose code is
 * `nothing_to_retract` (status 404) when there is no vote to take back.
 */
export async function retractFeedback(options: RetractFeedbackOptions): Promise<RetractedFeedback> {
  const { feedbackToken } = options;
  const userID = canonicalUserID(options.userID);
  requireToken(feedbackToken);
  const query = new URLSearchParams({ feedback_token: feedbackToken });
  if (userID) query.set("user_id", userID);

  const data = await request(options, `?${query}`, { method: "DELETE", headers: { Accept: "application/json" } });
  if (!isRecord(data) || data.outcome !== null) throw invalidResponse();
  return {
    id: typeof data.id === "string" ? data.id : String(data.id ?? ""),
    outcome: null,
    userID: typeof data.user_id === "string" && data.user_id ? data.user_id : null,
  };
}

export async function getFeedback(options: GetFeedbackOptions): Promise<SavedFeedback> {
  const { feedbackToken } = options;
  const userID = canonicalUserID(options.userID);
  requireToken(feedbackToken);
  const query = new URLSearchParams({ feedback_token: feedbackToken });
  if (userID) query.set("user_id", userID);

  const data = await request(options, `?${query}`, {
    method: "GET",
    headers: { Accept: "application/json" },
    // A vote can change in another tab; a cached answer would show a stale state.
    cache: "no-store",
  });
  if (!isRecord(data) || !(data.outcome === null || isOutcome(data.outcome))) throw invalidResponse();
  const saved: SavedFeedback = { outcome: data.outcome };
  if ("comment" in data) saved.comment = typeof data.comment === "string" ? data.comment : null;
  return saved;
}

async function request(options: RequestOptions, suffix: string, init: RequestInit): Promise<unknown> {
  const url = `${feedbackUrl(options.apiUrl)}${suffix}`;
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== "function") {
    throw new FeedbackError(0, "network_error", "No fetch implementation is available; pass one as `fetch`.");
  }
  if (options.signal?.aborted) throw aborted(options.signal.reason);

  let response: Response;
  try {
    // credentials "omit": the endpoint is public and must never see the host page's cookies.
    response = await doFetch(url, { ...init, credentials: "omit", signal: options.signal });
  } catch (cause) {
    if (options.signal?.aborted || isAbortError(cause)) throw aborted(cause);
    throw new FeedbackError(
      0,
      "network_error",
      "Could not reach the feedback service. Check your connection and try again.",
      { cause },
    );
  }

  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    if (options.signal?.aborted || isAbortError(cause)) throw aborted(cause);
    throw new FeedbackError(response.status, "network_error", "The connection closed before the response arrived.", {
      cause,
    });
  }
  const data = parseJson(text);

  if (!response.ok) {
    const error = isRecord(data) && isRecord(data.error) ? data.error : undefined;
    const message =
      error && typeof error.message === "string" && error.message
        ? error.message
        : `The feedback service answered with HTTP ${response.status}.`;
    const code = error && typeof error.code === "string" && error.code ? error.code : "http_error";
    throw new FeedbackError(response.status, code, message);
  }
  if (data === undefined) throw invalidResponse(response.status);
  return data;
}

/** `{apiUrl}/v1/feedback`, with any trailing slashes of apiUrl dropped. */
export function feedbackUrl(apiUrl: string): string {
  const base = typeof apiUrl === "string" ? apiUrl.trim().replace(/\/+$/, "") : "";
  if (!base) throw new FeedbackError(0, "invalid_argument", "apiUrl is required.");
  return `${base}/v1/feedback`;
}

function requireToken(token: unknown): void {
  if (typeof token !== "string" || !token) {
    throw new FeedbackError(0, "invalid_argument", "feedbackToken is required.");
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isOutcome(value: unknown): value is Outcome {
  return typeof value === "string" && OUTCOMES.includes(value);
}

function isAbortError(error: unknown): boolean {
  return isRecord(error) && error.name === "AbortError";
}

function aborted(cause: unknown): FeedbackError {
  return new FeedbackError(0, "aborted", "The request was cancelled.", { cause });
}

function invalidResponse(status = 200): FeedbackError {
  return new FeedbackError(status, "invalid_response", "The feedback service sent a response this client cannot read.");
}
