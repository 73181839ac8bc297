import { useCallback, useEffect, useRef, useState } from "react";
import { FeedbackError, getFeedback, sendFeedback, type Outcome } from "./client.js";

/** What the user has said about one run. */
export interface FeedbackState {
  outcome: Outcome | null;
  /** `null` for no comment; `undefined` while unknown (the server did not report it). */
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
  /** True until the saved state has loaded (or failed to). */
  loading: boolean;
  /** True while a save is in flight. */
  saving: boolean;
  /** The last failure, and whether loading or saving failed; cleared by the next save. */
  error: { source: "load" | "save"; error: FeedbackError } | null;
  /** Shows `outcome` at once and saves it, keeping the current comment. */
  vote: (outcome: Outcome) => Promise<SaveResult>;
  /** Saves a comment with the current outcome; blank means no comment. */
  saveComment: (comment: string) => Promise<SaveResult>;
}

interface Session {
  controller: AbortController;
  request: Pick<UseFeedbackOptions, "feedbackToken" | "userID" | "apiUrl" | "fetch">;
  /** What the user sees now, optimistic edits included. */
  shown: FeedbackState;
  /** What the server last confirmed: the state a failed save rolls back to. */
  confirmed: FeedbackState;
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

/**
 * The state behind `FeedbackButtons`, for building your own buttons: loads the saved vote,
 * applies changes optimistically, saves them in order, and rolls back when a save fails.
 */
export function useFeedback(options: UseFeedbackOptions): UseFeedbackResult {
  const { feedbackToken, userID, apiUrl, fetch: fetchImpl } = options;
  const [shown, setShown] = useState<FeedbackState>(NOTHING);
  const [loading, setLoading] = useState(true);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<UseFeedbackResult["error"]>(null);
  const sessionRef = useRef<Session | null>(null);
  const onChangeRef = useRef(options.onChange);
  useEffect(() => {
    onChangeRef.current = options.onChange;
  });

  useEffect(() => {
    const session: Session = {
      controller: new AbortController(),
      request: { feedbackToken, userID, apiUrl, fetch: fetchImpl },
      shown: NOTHING,
      confirmed: NOTHING,
      reported: NOTHING,
      latest: 0,
      queue: Promise.resolve(),
      touched: false,
      confirmedBySave: false,
    };
    const { signal } = session.controller;
    sessionRef.current = session;
    setShown(NOTHING);
    setLoading(true);
    setSaving(false);
    setError(null);
    // A page may render the buttons before the run's token arrives: nothing to load yet.
    if (!feedbackToken) {
      setLoading(false);
      return () => session.controller.abort();
    }

    getFeedback({ ...session.request, signal }).then(
      (saved) => {
        if (signal.aborted) return;
        const loaded: FeedbackState = { outcome: saved.outcome, comment: saved.comment };
        if (!session.confirmedBySave) session.confirmed = session.reported = loaded;
        // A click made while loading wins over what was loaded.
        if (!session.touched) setShown((session.shown = loaded));
        setLoading(false);
      },
      (cause: unknown) => {
        if (signal.aborted) return;
        if (!session.touched) setError({ source: "load", error: asFeedbackError(cause) });
        setLoading(false);
      },
    );
    return () => {
      session.controller.abort();
      if (sessionRef.current === session) sessionRef.current = null;
    };
  }, [feedbackToken, userID, apiUrl, fetchImpl]);

  const save = useCallback((next: FeedbackState): Promise<SaveResult> => {
    const session = sessionRef.current;
    const outcome = next.outcome;
    if (!session || !outcome) return Promise.resolve("cancelled");
    const { signal } = session.controller;
    const id = ++session.latest;
    session.touched = true;
    setShown((session.shown = next));
    setSaving(true);
    setError(null);

    const attempt = session.queue.then(() =>
      sendFeedback({ ...session.request, outcome, comment: next.comment, signal }),
    );
    session.queue = attempt.catch(() => undefined);

    const settle = (failure: FeedbackError | null): SaveResult => {
      if (id !== session.latest) return failure ? "superseded" : "saved";
      setShown((session.shown = session.confirmed));
      setSaving(false);
      if (failure) setError({ source: "save", error: failure });
      if (!sameState(session.confirmed, session.reported)) {
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
        session.confirmedBySave = true;
        return settle(null);
      },
      (cause: unknown) => (signal.aborted ? "cancelled" : settle(asFeedbackError(cause))),
    );
  }, []);

  const vote = useCallback(
    (outcome: Outcome) => save({ outcome, comment: sessionRef.current?.shown.comment }),
    [save],
  );

  const saveComment = useCallback(
    (comment: string) => {
      const trimmed = comment.trim();
      return save({ outcome: sessionRef.current?.shown.outcome ?? null, comment: trimmed || null });
    },
    [save],
  );

  return { ...shown, loading, saving, error, vote, saveComment };
}

function sameState(a: FeedbackState, b: FeedbackState): boolean {
  return a.outcome === b.outcome && (a.comment ?? null) === (b.comment ?? null);
}

function asFeedbackError(cause: unknown): FeedbackError {
  if (cause instanceof FeedbackError) return cause;
  const message = cause instanceof Error && cause.message ? cause.message : "Something went wrong.";
  return new FeedbackError(0, "unknown_error", message, { cause });
}
