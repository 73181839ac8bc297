// An in-memory stand-in for the public feedback endpoints, speaking the wire contract:
// one vote per (token, user_id), a POST overwrites it, errors as {"error": {...}}.
import { vi } from "vitest";
import type { Outcome } from "../src/client";

export interface RecordedRequest {
  method: string;
  url: URL;
  body: Record<string, unknown> | undefined;
  headers: Headers;
}

export type PostFailure = { status: number; code: string; message: string } | "network";

export class FakeFeedbackApi {
  readonly votes = new Map<string, { outcome: Outcome; comment: string | null }>();
  readonly requests: RecordedRequest[] = [];
  /** Consumed one per POST, in order; an empty queue means success. */
  readonly postFailures: (PostFailure | null)[] = [];
  getFailure: { status: number; code: string; message: string } | null = null;
  /** Consumed one per GET, in order, before `getFailure` applies; `null` lets that GET through. */
  readonly getFailures: ({ status: number; code: string; message: string } | null)[] = [];
  /**
   * Whether GET reports the comment: a token bound to the end user reads it, an unbound one reads only
   * `outcome` (and the answer to `keep_comment` then leaves the comment out too).
   */
  reportComment = true;
  /** Consumed one per DELETE, in order; an empty queue means success. */
  readonly deleteFailures: (PostFailure | null)[] = [];
  /** While true, POST responses wait for `release()`. */
  holdPosts = false;
  private held: (() => void)[] = [];
  private getGate: Promise<void> | null = null;

  readonly fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? "GET";
    const body = init.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined;
    this.requests.push({ method, url, body, headers: new Headers(init.headers) });
    if (url.pathname !== "/v1/feedback") return json(404, { error: { status_code: 404, code: "not_found", message: "No route." } });

    if (method === "GET") {
      if (this.getGate) await abortable(this.getGate, init.signal);
      const getFailure = this.getFailures.length ? this.getFailures.shift() : this.getFailure;
      if (getFailure) return json(getFailure.status, { error: { status_code: getFailure.status, ...getFailure } });
      const key = keyOf(url.searchParams.get("feedback_token"), url.searchParams.get("user_id"));
      const vote = this.votes.get(key);
      return json(200, this.reportComment ? { outcome: vote?.outcome ?? null, comment: vote?.comment ?? null } : { outcome: vote?.outcome ?? null });
    }

    if (method === "DELETE") {
      const failure = this.deleteFailures.shift() ?? null;
      if (this.holdPosts) await abortable(new Promise<void>((resolve) => this.held.push(resolve)), init.signal);
      if (failure === "network") throw new TypeError("Failed to fetch");
      if (failure) return json(failure.status, { error: { status_code: failure.status, code: failure.code, message: failure.message } });
      const userID = url.searchParams.get("user_id");
      const key = keyOf(url.searchParams.get("feedback_token"), userID);
      if (!this.votes.has(key)) {
        return json(404, { error: { status_code: 404, code: "nothing_to_retract", message: "There is no vote to retract." } });
      }
      this.votes.delete(key);
      return json(200, { id: `fb_${this.requests.length}`, outcome: null, comment: null, user_id: userID });
    }

    const failure = this.postFailures.shift() ?? null;
    if (this.holdPosts) await abortable(new Promise<void>((resolve) => this.held.push(resolve)), init.signal);
    if (failure === "network") throw new TypeError("Failed to fetch");
    if (failure) return json(failure.status, { error: { status_code: failure.status, code: failure.code, message: failure.message } });
    const userID = typeof body?.user_id === "string" ? body.user_id : null;
    const key = keyOf(String(body!.feedback_token), userID);
    const kept = body?.keep_comment === true ? (this.votes.get(key)?.comment ?? null) : null;
    const comment = body?.keep_comment === true ? kept : typeof body?.comment === "string" ? body.comment : null;
    const stored = { outcome: body!.outcome as Outcome, comment };
    this.votes.set(key, stored);
    const hidden = body?.keep_comment === true && !this.reportComment;
    const answer = hidden ? { outcome: stored.outcome } : stored;
    return json(200, { id: `fb_${this.requests.length}`, ...answer, user_id: userID });
  });

  get deletes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "DELETE");
  }

  get posts(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "POST");
  }

  get gets(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "GET");
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Makes GET responses wait until the returned function is called. */
  holdGets(): () => void {
    let open = () => {};
    this.getGate = new Promise<void>((resolve) => (open = resolve));
    return () => {
      this.getGate = null;
      open();
    };
  }

  /** Lets the oldest held POST answer. */
  release(): void {
    const next = this.held.shift();
    if (!next) throw new Error("no POST is waiting");
    next();
  }
}

export function keyOf(token: string | null, userID: string | null | undefined): string {
  return `${token}|${userID ?? ""}`;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DOMException("The operation was aborted.", "AbortError"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject);
  });
}
