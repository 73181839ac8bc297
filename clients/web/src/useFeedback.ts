import { useCallback, useEffect, useRef, useState } from "react";
import { FeedbackError, getFeedback, retractFeedback, sendFeedback, type Outcome } from "./client.js";

/** What the user has said about one run. */
export interface FeedbackState {
  outcome: Outcome | null;
  /**
   * `null` for no comment; `undefined` while unknown (still loading, loading failed, or the server
   * does not report comments).
   */
  comment?: string | null;
}

/**
 * How one save ended: `saved`; `failed` (the state rolled back and `error` is set);
 * `superseded` (it failed, but a later save is deciding the state); `cancelled` (the token,
 * user or URL changed, or the component unmounted).
 */
export type SaveResult = "saved" | "failed" | "superseded" | "cancelled";

export interface UseFeedbackOptions {
  feedbackToken: string;
  userID?: string | null;
  apiUrl: string;
  /** Called after the server confirms a change made here, with the state it stored. */
  onChange?: (state: FeedbackState) => void;
  fetch?: typeof fetch;
}

export interface UseFeedbackResult extends FeedbackState {
  /** True until the saved state has loaded (or failed to), and while `ensureLoaded` loads it again. */
  loading: boolean;
  /** True while a save is in flight. */
  saving: boolean;
  /**
   * True once the server has told this hook the saved state (by loading it or by confirming a save):
   * `comment` is then what the server holds (`undefined` only if the server does not report comments).
   */
  savedStateKnown: boolean;
  /** The last failure, and whether loading or saving failed; cleared by the next save. */
  error: { source: "load" | "save"; error: FeedbackError } | null;
  /**
   * Shows `outcome` at once and saves it with the comment the server holds, so a vote never erases a
   * comment. While the saved state is unknown (still loading, or loading failed) the request waits for
   * it, loading it again if needed; when it cannot be loaded the vote is not sent and fails with that
   * error, except when the server refused the token or user id (401, 403, 422), which it refuses for a
   * write alike, so the vote is sent and the server's reason shown. When the server does not report
   * comments (a token not bound to the end user), the vote asks it to keep the saved one (`keepComment`).
   */
  vote: (outcome: Outcome) => Promise<SaveResult>;
  /**
   * Takes the vote back: shows no vote at once, and rolls back if the server refuses. A vote that was
   * already gone on the server (404 `nothing_to_retract`) counts as taken back.
   */
  retract: () => Promise<SaveResult>;
  /**
   * Saves a comment, replacing the saved one, with the current outcome, or with `outcome` when given
   * (e.g. to retry a vote that failed together with its comment); blank means no comment.
   */
  saveComment: (comment: string, outcome?: Outcome) => Promise<SaveResult>;
  /**
   * Resolves to the saved state once it is known: at once when it is, joining a load in flight, or
   * loading it again after a failure. Resolves to `null` when it cannot be loaded (`error` then says
   * why, with source `load`) or the token, user or URL changed.
   */
  ensureLoaded: () => Promise<FeedbackState | null>;
}

/** A vote's comment: the one the server holds when the request goes out. */
const SAVED_COMMENT = Symbol("saved comment");

interface Change {
  /** `null`: take the vote back. */
  outcome: Outcome | null;
  comment: string | null | typeof SAVED_COMMENT;
}

interface Session {
  controller: AbortController;
  request: Pick<UseFeedbackOptions, "feedbackToken" | "userID" | "apiUrl" | "fetch">;
  /** What the user sees now, optimistic edits included. */
  shown: FeedbackState;
  /** What the server last confirmed: the state a failed save rolls back to. */
  confirmed: FeedbackState;
  /** Whether `confirmed` came from the server (a load or a save) rather than being a placeholder. */
  known: boolean;
  /** The GET in flight, shared by everyone waiting for the saved state. */
  loadInFlight: Promise<FeedbackState> | null;
  /** What onChange last reported (or what loaded), so it fires only on real changes. */
  reported: FeedbackState;
  /** Number of the latest save; only the latest one may set the shown state. */
  latest: number;
  /** Saves run one after another so the server applies them in click order. */
  queue: Promise<unknown>;
  touched: boolean;
  confirmedBySave: boolean;
}

const NOTHING: FeedbackState = { outcome: null, comment: null };
const UNKNOWN: FeedbackState = { outcome: null, comment: undefined };

// Refusals of the token or user id: the server answers a write with them the same way, so a vote
// sent after such a failed load cannot erase anything, and the user learns the server's reason.
const REFUSED_FOR_WRITES_TOO = new Set([401, 403, 422]);

/**
 * The state behind `FeedbackButtons`, for building your own buttons: loads the saved vote,
 * applies changes optimistically, saves them in order, and rolls back when a save fails.
 */
export function useFeedback(options: UseFeedbackOptions): UseFeedbackResult {
  const { feedbackToken, userID, apiUrl, fetch: fetchImpl } = options;
  const [shown, setShown] = useState<FeedbackState>(NOTHING);
  const [loading, setLoading] = useState(true);
  const [saving, setSaving] = useState(false);
  const [known, setKnown] = useState(false);
  const [error, setError] = useState<UseFeedbackResult["error"]>(null);
  const sessionRef = useRef<Session | null>(null);
  const onChangeRef = useRef(options.onChange);
  useEffect(() => {
    onChangeRef.current = options.onChange;
  });

  /** Reads the saved state (one GET shared by all callers); rejects with a FeedbackError. */
  const load = useCallback((session: Session): Promise<FeedbackState> => {
    if (session.loadInFlight) return session.loadInFlight;
    const { signal } = session.controller;
    const inFlight = getFeedback({ ...session.request, signal }).then(
      (saved) => {
        session.loadInFlight = null;
        const loaded: FeedbackState = { outcome: saved.outcome, comment: saved.comment };
        if (signal.aborted) return loaded;
        if (!session.confirmedBySave) session.confirmed = session.reported = loaded;
        session.known = true;
        setKnown(true);
        if (!session.touched) {
          setShown((session.shown = loaded));
        } else if (session.shown.comment === undefined) {
          // Only votes were made since: they keep the saved comment, which is now known.
          setShown((session.shown = { ...session.shown, comment: session.confirmed.comment }));
        }
        return session.confirmed;
      },
      (cause: unknown) => {
        session.loadInFlight = null;
        throw asFeedbackError(cause);
      },
    );
    session.loadInFlight = inFlight;
    return inFlight;
  }, []);

  useEffect(() => {
    const session: Session = {
      controller: new AbortController(),
      request: { feedbackToken, userID, apiUrl, fetch: fetchImpl },
      shown: feedbackToken ? UNKNOWN : NOTHING,
      confirmed: feedbackToken ? UNKNOWN : NOTHING,
      known: false,
      loadInFlight: null,
      reported: NOTHING,
      latest: 0,
      queue: Promise.resolve(),
      touched: false,
      confirmedBySave: false,
    };
    const { signal } = session.controller;
    sessionRef.current = session;
    setShown(session.shown);
    setLoading(true);
    setSaving(false);
    setKnown(false);
    setError(null);
    // A page may render the buttons before the run's token arrives: nothing to load yet.
    if (!feedbackToken) {
      setLoading(false);
      return () => session.controller.abort();
    }

    load(session).then(
      () => {
        if (!signal.aborted) setLoading(false);
      },
      (cause: FeedbackError) => {
        if (signal.aborted) return;
        if (!session.touched) setError({ source: "load", error: cause });
        setLoading(false);
      },
    );
    return () => {
      session.controller.abort();
      if (sessionRef.current === session) sessionRef.current = null;
    };
  }, [feedbackToken, userID, apiUrl, fetchImpl, load]);

  /** The comment a vote carries: the saved one, loaded first if unknown (see `vote`). */
  const savedComment = useCallback(
    async (session: Session): Promise<string | null | undefined> => {
      if (session.known) return session.confirmed.comment;
      try {
        return (await load(session)).comment;
      } catch (cause) {
        const failure = asFeedbackError(cause);
        if (REFUSED_FOR_WRITES_TOO.has(failure.status)) return null;
        throw failure;
      }
    },
    [load],
  );

  const save = useCallback(
    (change: Change): Promise<SaveResult> => {
      const session = sessionRef.current;
      if (!session) return Promise.resolve("cancelled");
      const { signal } = session.controller;
      const id = ++session.latest;
      session.touched = true;
      const shownComment = change.comment === SAVED_COMMENT ? session.shown.comment : change.comment;
      setShown((session.shown = { outcome: change.outcome, comment: shownComment }));
      setSaving(true);
      setError(null);

      const attempt = session.queue.then(async (): Promise<FeedbackState> => {
        // Resolved when the request goes out, after the saves queued before it have settled.
        if (change.outcome === null) return retracted(session.request, signal);
        const comment = change.comment === SAVED_COMMENT ? await savedComment(session) : change.comment;
        // A saved comment the server does not report is unknown here: ask the server to keep it.
        const keepComment = comment === undefined;
        return sendFeedback({ ...session.request, outcome: change.outcome, comment, keepComment, signal });
      });
      session.queue = attempt.catch(() => undefined);

      const settle = (failure: FeedbackError | null): SaveResult => {
        if (id !== session.latest) return failure ? "superseded" : "saved";
        setShown((session.shown = session.confirmed));
        setSaving(false);
        if (failure) setError({ source: "save", error: failure });
        if (session.known && !sameState(session.confirmed, session.reported)) {
          session.reported = session.confirmed;
          try {
            onChangeRef.current?.(session.confirmed);
          } catch (callbackError) {
            // A throwing host callback must not turn a saved vote into a reported failure.
            console.error(callbackError);
          }
        }
        return failure ? "failed" : "saved";
      };

      return attempt.then(
        (entry) => {
          if (signal.aborted) return "cancelled";
          session.confirmed = { outcome: entry.outcome, comment: entry.comment };
          session.confirmedBySave = session.known = true;
          setKnown(true);
          return settle(null);
        },
        (cause: unknown) => (signal.aborted ? "cancelled" : settle(asFeedbackError(cause))),
      );
    },
    [savedComment],
  );

  const vote = useCallback((outcome: Outcome) => save({ outcome, comment: SAVED_COMMENT }), [save]);

  const retract = useCallback(() => save({ outcome: null, comment: null }), [save]);

  const saveComment = useCallback(
    (comment: string, outcome?: Outcome) => {
      const chosen = outcome ?? sessionRef.current?.shown.outcome;
      if (!chosen) return Promise.resolve<SaveResult>("cancelled");
      return save({ outcome: chosen, comment: comment.trim() || null });
    },
    [save],
  );

  const ensureLoaded = useCallback(async (): Promise<FeedbackState | null> => {
    const session = sessionRef.current;
    if (!session) return null;
    if (session.known) return session.confirmed;
    const { signal } = session.controller;
    setLoading(true);
    try {
      const state = await load(session);
      if (signal.aborted) return null;
      setError((current) => (current?.source === "load" ? null : current));
      return state;
    } catch (cause) {
      if (!signal.aborted) setError({ source: "load", error: asFeedbackError(cause) });
      return null;
    } finally {
      if (!signal.aborted) setLoading(false);
    }
  }, [load]);

  return { ...shown, loading, saving, savedStateKnown: known, error, vote, retract, saveComment, ensureLoaded };
}

/** Takes the vote back; one already gone (404 nothing_to_retract) is the same end state. */
async function retracted(request: Session["request"], signal: AbortSignal): Promise<FeedbackState> {
  try {
    await retractFeedback({ ...request, signal });
  } catch (cause) {
    if (!(cause instanceof FeedbackError && cause.code === "nothing_to_retract")) throw cause;
  }
  return { outcome: null, comment: null };
}

function sameState(a: FeedbackState, b: FeedbackState): boolean {
  return a.outcome === b.outcome && (a.comment ?? null) === (b.comment ?? null);
}

function asFeedbackError(cause: unknown): FeedbackError {
  if (cause instanceof FeedbackError) return cause;
  const message = cause instanceof Error && cause.message ? cause.message : "Something went wrong.";
  return new FeedbackError(0, "unknown_error", message, { cause });
}
