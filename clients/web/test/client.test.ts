import { describe, expect, it, vi } from "vitest";
import { FeedbackError, canonicalUserID, feedbackUrl, getFeedback, retractFeedback, sendFeedback } from "../src/client";

type Call = { url: string; init: RequestInit };

function fakeFetch(status: number, body: unknown, contentType = "application/json") {
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "Content-Type": contentType } });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls, mock: fetch };
}

const headersOf = (call: Call) => new Headers(call.init.headers);

async function rejection(promise: Promise<unknown>): Promise<FeedbackError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the promise to reject");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FeedbackError);
  return error as FeedbackError;
}

const ENTRY = { id: "fb_1", outcome: "positive", comment: "Spot on", user_id: "user-7" };

describe("sendFeedback", () => {
  it("posts the wire body as JSON to {apiUrl}/v1/feedback, trailing slashes stripped", async () => {
    const api = fakeFetch(200, ENTRY);
    await sendFeedback({
      apiUrl: "https://api.example.test/prod//",
      feedbackToken: "tok.abc",
      outcome: "positive",
      comment: "Spot on",
      userID: "user-7",
      fetch: api.fetch,
    });

    expect(api.calls).toHaveLength(1);
    const [call] = api.calls;
    expect(call!.url).toBe("https://api.example.test/prod/v1/feedback");
    expect(call!.init.method).toBe("POST");
    expect(headersOf(call!).get("content-type")).toBe("application/json");
    expect(JSON.parse(String(call!.init.body))).toEqual({
      feedback_token: "tok.abc",
      outcome: "positive",
      comment: "Spot on",
      user_id: "user-7",
    });
  });

  it("never sends an Authorization header or cookies", async () => {
    const api = fakeFetch(200, ENTRY);
    await sendFeedback({ apiUrl: "https://api.example.test", feedbackToken: "t", outcome: "negative", fetch: api.fetch });
    expect(headersOf(api.calls[0]!).has("authorization")).toBe(false);
    expect(api.calls[0]!.init.credentials).toBe("omit");
  });

  it("omits comment and user_id when absent or blank, and trims the comment", async () => {
    const api = fakeFetch(200, ENTRY);
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "negative", comment: "   ", fetch: api.fetch });
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "negative", comment: "  too long  ", userID: "", fetch: api.fetch });

    expect(JSON.parse(String(api.calls[0]!.init.body))).toEqual({ feedback_token: "t", outcome: "negative" });
    expect(JSON.parse(String(api.calls[1]!.init.body))).toEqual({ feedback_token: "t", outcome: "negative", comment: "too long" });
  });

  it("returns the stored entry with camel-cased fields", async () => {
    const api = fakeFetch(200, ENTRY);
    const entry = await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch: api.fetch });
    expect(entry).toEqual({ id: "fb_1", outcome: "positive", comment: "Spot on", userID: "user-7" });
  });

  it("surfaces the server's error message, code and status", async () => {
    const api = fakeFetch(401, {
      error: { status_code: 401, code: "invalid_feedback_token", message: "This feedback token has expired." },
    });
    const error = await rejection(
      sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch: api.fetch }),
    );
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_feedback_token");
    expect(error.message).toBe("This feedback token has expired.");
    expect(error.name).toBe("FeedbackError");
  });

  it("turns a non-JSON error page into a FeedbackError naming the status", async () => {
    const api = fakeFetch(502, "<html>Bad Gateway</html>", "text/html");
    const error = await rejection(
      sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch: api.fetch }),
    );
    expect(error.status).toBe(502);
    expect(error.code).toBe("http_error");
    expect(error.message).toContain("502");
  });

  it("turns a network failure into a FeedbackError with a clear message", async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const error = await rejection(
      sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch }),
    );
    expect(error.status).toBe(0);
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/could not reach the feedback service/i);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("reports an abort as code 'aborted'", async () => {
    const controller = new AbortController();
    const fetch = vi.fn(
      (_url: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")));
        }),
    );
    const pending = sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch, signal: controller.signal });
    controller.abort();
    const error = await rejection(pending);
    expect(error.code).toBe("aborted");
    expect(fetch.mock.calls[0]![1]!.signal).toBe(controller.signal);
  });

  it("rejects bad arguments without calling the server", async () => {
    const api = fakeFetch(200, ENTRY);
    const bad = [
      { apiUrl: "https://a.test", feedbackToken: "", outcome: "positive" as const },
      { apiUrl: "https://a.test", feedbackToken: "t", outcome: "meh" as "positive" },
      { apiUrl: " / ", feedbackToken: "t", outcome: "positive" as const },
    ];
    for (const options of bad) {
      const error = await rejection(sendFeedback({ ...options, fetch: api.fetch }));
      expect(error.code).toBe("invalid_argument");
    }
    expect(api.mock).not.toHaveBeenCalled();
  });

  it("rejects a success response it cannot read", async () => {
    const api = fakeFetch(200, "<html>login page</html>", "text/html");
    const error = await rejection(
      sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", fetch: api.fetch }),
    );
    expect(error.code).toBe("invalid_response");
  });

  it("uses the global fetch when none is given", async () => {
    const api = fakeFetch(200, ENTRY);
    vi.stubGlobal("fetch", api.fetch);
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive" });
    expect(api.calls).toHaveLength(1);
  });
});

describe("getFeedback", () => {
  it("asks for the token's saved vote for the user, with query parameters encoded", async () => {
    const api = fakeFetch(200, { outcome: "negative" });
    const saved = await getFeedback({
      apiUrl: "https://a.test/",
      feedbackToken: "eyJ.a+b/c=",
      userID: "user 7&x",
      fetch: api.fetch,
    });

    expect(saved).toEqual({ outcome: "negative" });
    const url = new URL(api.calls[0]!.url);
    expect(url.origin + url.pathname).toBe("https://a.test/v1/feedback");
    expect(url.searchParams.get("feedback_token")).toBe("eyJ.a+b/c=");
    expect(url.searchParams.get("user_id")).toBe("user 7&x");
    expect(api.calls[0]!.init.method).toBe("GET");
    expect(api.calls[0]!.init.cache).toBe("no-store");
    expect(headersOf(api.calls[0]!).has("authorization")).toBe(false);
    expect(api.calls[0]!.init.credentials).toBe("omit");
  });

  it("leaves user_id out for an anonymous user and reports no vote as null", async () => {
    const api = fakeFetch(200, { outcome: null });
    const saved = await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: api.fetch });
    expect(saved.outcome).toBeNull();
    expect(saved.comment).toBeUndefined();
    expect(new URL(api.calls[0]!.url).searchParams.has("user_id")).toBe(false);
  });

  it("reads the comment when the server reports one", async () => {
    const withComment = fakeFetch(200, { outcome: "positive", comment: "Great" });
    const withNull = fakeFetch(200, { outcome: "positive", comment: null });
    expect(await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: withComment.fetch })).toEqual({
      outcome: "positive",
      comment: "Great",
    });
    expect(await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: withNull.fetch })).toEqual({
      outcome: "positive",
      comment: null,
    });
  });

  it("surfaces the server's error message", async () => {
    const api = fakeFetch(400, { error: { status_code: 400, code: "invalid_request", message: "feedback_token is malformed." } });
    const error = await rejection(getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: api.fetch }));
    expect(error).toMatchObject({ status: 400, code: "invalid_request", message: "feedback_token is malformed." });
  });

  it("rejects an outcome it does not know", async () => {
    const api = fakeFetch(200, { outcome: "meh" });
    const error = await rejection(getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: api.fetch }));
    expect(error.code).toBe("invalid_response");
  });
});

describe("feedbackUrl", () => {
  it("joins the base URL and the feedback path", () => {
    expect(feedbackUrl("http://127.0.0.1:3000")).toBe("http://127.0.0.1:3000/v1/feedback");
    expect(feedbackUrl("http://127.0.0.1:3000/")).toBe("http://127.0.0.1:3000/v1/feedback");
    expect(feedbackUrl("/api/")).toBe("/api/v1/feedback");
  });
});

describe("user ids", () => {
  const NFC = "jos\u00e9";
  const NFD = "jose\u0301";

  it("sends one form of an id, NFC with surrounding white space trimmed, to POST and GET alike", async () => {
    expect(NFC).not.toBe(NFD);
    const api = fakeFetch(200, ENTRY);
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", userID: ` ${NFD}\n`, fetch: api.fetch });
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "positive", userID: NFC, fetch: api.fetch });
    await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", userID: `\t${NFD}\u00a0`, fetch: api.fetch });

    expect(JSON.parse(String(api.calls[0]!.init.body)).user_id).toBe(NFC);
    expect(JSON.parse(String(api.calls[1]!.init.body)).user_id).toBe(NFC);
    expect(new URL(api.calls[2]!.url).searchParams.get("user_id")).toBe(NFC);
  });

  it("sends a blank id as none: the vote is anonymous", async () => {
    const api = fakeFetch(200, ENTRY);
    await sendFeedback({ apiUrl: "https://a.test", feedbackToken: "t", outcome: "negative", userID: " \t ", fetch: api.fetch });
    await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", userID: "\n", fetch: api.fetch });
    expect(JSON.parse(String(api.calls[0]!.init.body))).toEqual({ feedback_token: "t", outcome: "negative" });
    expect(new URL(api.calls[1]!.url).searchParams.has("user_id")).toBe(false);
  });

  it("keeps every other character, the ones a URL would rewrite included", async () => {
    const ids = [".", "..", "/", "%", "?", "#", "a b", "\u65e5\u672c", "a+b&c=d"];
    for (const id of ids) expect(canonicalUserID(id)).toBe(id);
    expect(canonicalUserID(null)).toBeNull();
    expect(canonicalUserID(undefined)).toBeNull();

    const api = fakeFetch(200, { outcome: null });
    for (const id of ids) await getFeedback({ apiUrl: "https://a.test", feedbackToken: "t", userID: id, fetch: api.fetch });
    expect(api.calls.map((call) => new URL(call.url).searchParams.get("user_id"))).toEqual(ids);
  });
});

describe("retractFeedback", () => {
  it("sends DELETE {apiUrl}/v1/feedback with the token and the canonical user id, without credentials", async () => {
    const api = fakeFetch(200, { id: "fb_1", outcome: null, comment: null, user_id: "josé" });
    const retracted = await retractFeedback({
      apiUrl: "https://a.test/",
      feedbackToken: "tok.abc",
      userID: " jose\u0301 ",
      fetch: api.fetch,
    });
    expect(retracted).toEqual({ id: "fb_1", outcome: null, userID: "josé" });
    const [call] = api.calls;
    const url = new URL(call!.url);
    expect(call!.init.method).toBe("DELETE");
    expect(url.pathname).toBe("/v1/feedback");
    expect(Object.fromEntries(url.searchParams)).toEqual({ feedback_token: "tok.abc", user_id: "josé" });
    expect(call!.init.credentials).toBe("omit");
    expect(call!.init.body).toBeUndefined();
    expect(headersOf(call!).has("authorization")).toBe(false);
  });

  it("rejects with nothing_to_retract when there is no vote", async () => {
    const api = fakeFetch(404, { error: { status_code: 404, code: "nothing_to_retract", message: "There is no vote to retract." } });
    const error = await rejection(retractFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: api.fetch }));
    expect([error.status, error.code]).toEqual([404, "nothing_to_retract"]);
  });

  it("rejects an answer that still holds a vote", async () => {
    const api = fakeFetch(200, { id: "fb_1", outcome: "positive" });
    const error = await rejection(retractFeedback({ apiUrl: "https://a.test", feedbackToken: "t", fetch: api.fetch }));
    expect(error.code).toBe("invalid_response");
  });
});

describe("sendFeedback with keepComment", () => {
  it("asks the server to keep the saved comment and sends none", async () => {
    const api = fakeFetch(200, { id: "fb_1", outcome: "negative", user_id: null });
    const entry = await sendFeedback({
      apiUrl: "https://a.test",
      feedbackToken: "t",
      outcome: "negative",
      comment: "ignored",
      keepComment: true,
      fetch: api.fetch,
    });
    expect(JSON.parse(String(api.calls[0]!.init.body))).toEqual({ feedback_token: "t", outcome: "negative", keep_comment: true });
    // The server left the comment out (the token may not read it): unknown, not null.
    expect(entry.comment).toBeUndefined();
  });
});
