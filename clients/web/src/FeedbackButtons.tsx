import {
  useEffect,
  useId,
  useRef,
  useState,
  type CSSProperties,
  type FormEvent,
  type KeyboardEvent,
} from "react";
import type { Outcome } from "./client.js";
import { useFeedback, type FeedbackState } from "./useFeedback.js";

/** Every text the component shows or gives to assistive technology; override to translate. */
export interface FeedbackButtonsLabels {
  group: string;
  positive: string;
  negative: string;
  addComment: string;
  editComment: string;
  dialogTitle: string;
  commentLabel: string;
  positivePlaceholder: string;
  negativePlaceholder: string;
  submitComment: string;
  cancel: string;
  thanks: string;
  commentSaved: string;
  saveFailed: string;
  /** Shown after the pressed thumb was clicked again and the server took the vote back. */
  retracted: string;
  retractFailed: string;
  loadFailed: string;
  /** Shown when the dialog closes with text that was not sent (the text is kept for reopening). */
  draftKept: string;
  /** Shown when a saved comment, loaded late, was put above what the user had typed. */
  earlierCommentAdded: string;
}

export const defaultFeedbackButtonsLabels: FeedbackButtonsLabels = {
  group: "Rate this response",
  positive: "Good response",
  negative: "Bad response",
  addComment: "Add comment",
  editComment: "Edit comment",
  dialogTitle: "Tell us more",
  commentLabel: "Comment (optional)",
  positivePlaceholder: "What was good about it?",
  negativePlaceholder: "What went wrong?",
  submitComment: "Send",
  cancel: "Cancel",
  thanks: "Thanks for your feedback.",
  commentSaved: "Thanks, your comment was saved.",
  saveFailed: "Your feedback was not saved:",
  retracted: "Your vote was removed.",
  retractFailed: "Your vote was not removed:",
  loadFailed: "Your earlier feedback could not be loaded:",
  draftKept: "Your comment was not sent. It is kept for when you reopen the comment box.",
  earlierCommentAdded: "Your earlier comment was loaded and put above your text. Check it, then send.",
};

export interface FeedbackButtonsProps {
  /** The `feedback_token` from the run's response. */
  feedbackToken: string;
  /** Your id for the end user; one vote is kept per run and user. Omit for anonymous. */
  userID?: string | null;
  /** Base URL of the feedback API, read at run time. */
  apiUrl: string;
  /** Added to the root element's class (which is always `afb`). */
  className?: string;
  /** Called after the server confirms a change, with the stored outcome and comment. */
  onChange?: (state: FeedbackState) => void;
  /** Offer a comment dialog after a vote. Default true. */
  allowComment?: boolean;
  /** Drop the component's inline styles entirely, to style it only through the `afb` classes. */
  unstyled?: boolean;
  labels?: Partial<FeedbackButtonsLabels>;
  /** Replaces the global `fetch`. */
  fetch?: typeof fetch;
}

type Notice = "thanks" | "commentSaved" | "retracted" | "draftKept" | "earlierCommentAdded" | null;

/**
 * Thumbs up and down for one agent run, with an optional comment. Themed through `className`,
 * the `afb__*` class names and `--feedback-buttons-*` CSS variables; it ships no global CSS.
 *
 * Clicking the pressed thumb again takes the vote back (at once, rolled back if the server refuses;
 * announced politely). It never erases a comment it has not shown, and never drops what the user typed:
 * - A vote carries the comment the server holds. A click made before the saved state has loaded
 *   presses the thumb at once, but the request waits for the saved state; after loading failed, the
 *   click loads it again first, and if that fails too the vote is not sent (it rolls back and says
 *   why). See `useFeedback`'s `vote`.
 * - The comment dialog opens with the vote and stays open when the vote or the comment fails: the
 *   text stays, the error shows inside the dialog (linked to the text box with `aria-describedby`,
 *   which is marked `aria-invalid`) and is announced assertively; focus stays in the text box.
 * - A saved comment that arrives after the dialog opened fills the empty text box, or is put above
 *   what the user typed (then nothing is sent until the user sends again, having seen it).
 * - Escape or Cancel closes the dialog but keeps unsent text for the next time it opens; focus then
 *   returns to the button that opened it, unless that is a thumb which is no longer pressed (where a
 *   stray Space would vote again): then to the pressed thumb, the comment button, or the group.
 */
export function FeedbackButtons(props: FeedbackButtonsProps) {
  const { allowComment = true, unstyled = false } = props;
  const labels = { ...defaultFeedbackButtonsLabels, ...props.labels };
  const feedback = useFeedback({
    feedbackToken: props.feedbackToken,
    userID: props.userID,
    apiUrl: props.apiUrl,
    onChange: props.onChange,
    fetch: props.fetch,
  });
  const { outcome, comment } = feedback;
  // Handlers that await read the state of the latest render, not the one they started in.
  const latest = useRef(feedback);
  latest.current = feedback;

  const [dialogOpen, setDialogOpen] = useState(false);
  const [draft, setDraftState] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const dialogOpenRef = useRef(false);
  const draftRef = useRef("");
  /** The dialog was closed with unsent text in `draft`, to show again when it reopens. */
  const draftKeptRef = useRef(false);
  /** The saved comment the draft started from; `undefined` while the saved state is unknown. */
  const baseRef = useRef<string | null | undefined>(undefined);
  /** The outcome a Send saves: the thumb last clicked for this dialog, even if its vote failed. */
  const dialogOutcomeRef = useRef<Outcome | null>(null);
  /** The error already shown when the dialog opened; only newer ones belong to the dialog. */
  const errorAtOpenRef = useRef<unknown>(null);
  const caretToEndRef = useRef(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const groupRef = useRef<HTMLDivElement>(null);
  const triggerRef = useRef<HTMLElement | null>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const restoreFocusRef = useRef(false);
  const submittingRef = useRef(false);
  /** What the latest save was, so that its failure is worded for it. */
  const lastSaveRef = useRef<"vote" | "retract">("vote");

  const baseId = useId();
  const dialogId = `${baseId}-dialog`;
  const titleId = `${baseId}-title`;
  const textareaId = `${baseId}-comment`;
  const dialogMessageId = `${baseId}-message`;

  function setDraft(text: string) {
    draftRef.current = text;
    setDraftState(text);
  }

  // A new token is a new run: forget the dialog, draft and messages of the previous one.
  useEffect(() => {
    dialogOpenRef.current = false;
    draftKeptRef.current = false;
    setDialogOpen(false);
    setNotice(null);
  }, [props.feedbackToken, props.userID, props.apiUrl]);

  useEffect(() => {
    if (dialogOpen) {
      textareaRef.current?.focus();
    } else if (restoreFocusRef.current) {
      restoreFocusRef.current = false;
      focusTargetAfterClose()?.focus();
    }
  }, [dialogOpen]);

  // After the dialog opens or its text is replaced, the caret goes to the end of the text.
  useEffect(() => {
    const box = textareaRef.current;
    if (!caretToEndRef.current || !box) return;
    caretToEndRef.current = false;
    box.setSelectionRange(box.value.length, box.value.length);
  });

  // The saved comment became known while the dialog is open (it was still loading, or loaded again).
  useEffect(() => {
    if (dialogOpen && feedback.savedStateKnown) adoptSavedComment(feedback.comment ?? null);
  }, [dialogOpen, feedback.savedStateKnown, feedback.comment]);

  /**
   * Takes the saved comment as the draft's base, once per dialog. Returns true when it was put above
   * text the user had typed: then the user must see it before anything is sent.
   */
  function adoptSavedComment(saved: string | null): boolean {
    if (baseRef.current !== undefined) return false;
    baseRef.current = saved;
    const typed = draftRef.current;
    if (!typed.trim()) {
      caretToEndRef.current = true;
      setDraft(saved ?? "");
      return false;
    }
    if (!saved?.trim() || typed.trim() === saved.trim()) return false;
    caretToEndRef.current = true;
    setDraft(`${saved}\n\n${typed}`);
    setNotice("earlierCommentAdded");
    return true;
  }

  function focusTargetAfterClose(): HTMLElement | null {
    const root = rootRef.current;
    const trigger = triggerRef.current;
    // Back to the button that opened the dialog, unless it is a thumb no longer pressed (its vote failed), where
    // the next Space or Enter would vote again. Elsewhere, never a thumb (Space votes, or takes a vote back):
    // the comment button, or the group.
    const safe = (element: HTMLElement | null | undefined): element is HTMLElement =>
      !!element?.isConnected && !!root?.contains(element) && element.getAttribute("aria-pressed") !== "false";
    if (safe(trigger)) return trigger;
    return root?.querySelector<HTMLElement>(".afb__comment-button") ?? groupRef.current;
  }

  function openDialog(trigger: HTMLElement, forOutcome: Outcome | null) {
    triggerRef.current = trigger;
    dialogOutcomeRef.current = forOutcome;
    if (dialogOpenRef.current) return;
    const current = latest.current;
    errorAtOpenRef.current = current.error?.error ?? null;
    baseRef.current = current.savedStateKnown ? (current.comment ?? null) : undefined;
    if (!draftKeptRef.current) setDraft(current.comment ?? "");
    draftKeptRef.current = false;
    caretToEndRef.current = true;
    dialogOpenRef.current = true;
    setDialogOpen(true);
  }

  /** `cancel` keeps unsent text for the next opening; `sent` closes after the text was saved. */
  function closeDialog(how: "cancel" | "sent") {
    if (!dialogOpenRef.current) return;
    const text = draftRef.current.trim();
    draftKeptRef.current = how === "cancel" && text !== "" && text !== (latest.current.comment ?? "").trim();
    if (draftKeptRef.current) setNotice("draftKept");
    const active = typeof document === "undefined" ? null : document.activeElement;
    // Return focus only when it was in the dialog (or got lost), never steal it from elsewhere.
    restoreFocusRef.current = !active || active === document.body || !!dialogRef.current?.contains(active);
    dialogOpenRef.current = false;
    setDialogOpen(false);
  }

  async function handleVote(next: Outcome, button: HTMLButtonElement) {
    if (next === outcome) {
      // The pressed thumb again: take the vote back. The dialog belongs to that vote; its text is kept.
      closeDialog("cancel");
      setNotice(null);
      lastSaveRef.current = "retract";
      const result = await feedback.retract();
      if (result === "saved") setNotice("retracted");
      return;
    }
    setNotice(null);
    lastSaveRef.current = "vote";
    if (allowComment) openDialog(button, next);
    const result = await feedback.vote(next);
    if (result === "saved") setNotice("thanks");
    // On failure the dialog, if open, stays with its text: the error shows inside it.
  }

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const target = dialogOutcomeRef.current ?? latest.current.outcome;
    if (submittingRef.current || !target) return;
    submittingRef.current = true;
    setSubmitting(true);
    try {
      if (!latest.current.savedStateKnown) {
        // Sending would replace a saved comment this dialog has not shown: load it first.
        setNotice(null);
        const saved = await feedback.ensureLoaded();
        if (!saved || adoptSavedComment(saved.comment ?? null)) return;
      }
      const text = draftRef.current;
      const current = latest.current;
      if (text.trim() === (current.comment ?? "").trim() && target === current.outcome) {
        closeDialog("sent");
        return;
      }
      setNotice(null);
      lastSaveRef.current = "vote";
      const result = await feedback.saveComment(text, target);
      if (result !== "saved") return; // the dialog stays with the text; the error shows inside it
      setNotice("commentSaved");
      // Text typed while the save was in flight is not the saved text: keep the dialog open for it.
      if (draftRef.current.trim() === text.trim()) {
        draftKeptRef.current = false;
        closeDialog("sent");
      }
    } finally {
      submittingRef.current = false;
      setSubmitting(false);
    }
  }

  function handleDialogKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      event.stopPropagation();
      event.preventDefault();
      closeDialog("cancel");
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target === textareaRef.current) {
      event.preventDefault();
      event.currentTarget.querySelector("form")?.requestSubmit();
    }
  }

  const error = feedback.error;
  const failed =
    error?.source === "load" ? labels.loadFailed : lastSaveRef.current === "retract" ? labels.retractFailed : labels.saveFailed;
  const errorText = error ? `${failed} ${error.error.message}` : "";
  // Errors the user caused just now (a vote, a Send) interrupt; a failed load on mount does not.
  const errorInDialog = dialogOpen && !!error && error.error !== errorAtOpenRef.current;
  const assertive = !!error && (error.source === "save" || errorInDialog);
  // A notice about the draft (kept, or joined by the saved comment) shows beside an error, not instead.
  const noticeText =
    notice && (!error || notice === "draftKept" || notice === "earlierCommentAdded") ? labels[notice] : "";
  // While the dialog is open its messages show inside it, next to the text box they describe.
  const messageInDialog = dialogOpen && !!(errorText || noticeText);

  const s: Partial<typeof styles> = unstyled ? {} : styles;
  const thumb = (value: Outcome) => {
    const pressed = outcome === value;
    return (
      <button
        type="button"
        className={`afb__button afb__button--${value}`}
        aria-pressed={pressed}
        aria-label={labels[value]}
        title={labels[value]}
        onClick={(event) => void handleVote(value, event.currentTarget)}
        style={pressed ? s.pressedButton : s.button}
      >
        <ThumbIcon down={value === "negative"} filled={pressed} style={s.icon} />
      </button>
    );
  };

  return (
    <div ref={rootRef} className={props.className ? `afb ${props.className}` : "afb"} style={s.root}>
      <div
        ref={groupRef}
        role="group"
        aria-label={labels.group}
        aria-busy={feedback.loading}
        // Focusable from script only: where focus goes when no button is safe to land on.
        tabIndex={-1}
        className="afb__row"
        style={s.row}
      >
        {thumb("positive")}
        {thumb("negative")}
        {allowComment && outcome && (
          <button
            type="button"
            className="afb__comment-button"
            aria-expanded={dialogOpen}
            aria-controls={dialogOpen ? dialogId : undefined}
            onClick={(event) => (dialogOpen ? closeDialog("cancel") : openDialog(event.currentTarget, outcome))}
            style={s.commentButton}
          >
            {comment ? labels.editComment : labels.addComment}
          </button>
        )}
      </div>
      {dialogOpen && (
        <div
          ref={dialogRef}
          id={dialogId}
          role="dialog"
          aria-labelledby={titleId}
          className="afb__dialog"
          onKeyDown={handleDialogKeyDown}
          style={s.dialog}
        >
          <form onSubmit={(event) => void handleSubmit(event)}>
            <p id={titleId} className="afb__dialog-title" style={s.title}>
              {labels.dialogTitle}
            </p>
            <label htmlFor={textareaId} className="afb__label" style={s.label}>
              {labels.commentLabel}
            </label>
            <textarea
              ref={textareaRef}
              id={textareaId}
              className="afb__textarea"
              rows={3}
              value={draft}
              placeholder={
                (dialogOutcomeRef.current ?? outcome) === "negative"
                  ? labels.negativePlaceholder
                  : labels.positivePlaceholder
              }
              aria-invalid={errorInDialog && error?.source === "save" ? true : undefined}
              aria-describedby={messageInDialog ? dialogMessageId : undefined}
              onChange={(event) => setDraft(event.target.value)}
              style={s.textarea}
            />
            {messageInDialog && (
              // Not a live region: the status line below announces it; this one describes the text box.
              <p
                id={dialogMessageId}
                className={errorText ? "afb__dialog-message afb__dialog-message--error" : "afb__dialog-message"}
                style={errorText ? s.dialogError : s.dialogMessage}
              >
                {errorText}
                {errorText && noticeText ? " " : ""}
                {noticeText}
              </p>
            )}
            <div className="afb__actions" style={s.actions}>
              <button type="submit" className="afb__submit" aria-disabled={submitting} style={s.actionButton}>
                {labels.submitComment}
              </button>
              <button type="button" className="afb__cancel" onClick={() => closeDialog("cancel")} style={s.actionButton}>
                {labels.cancel}
              </button>
            </div>
          </form>
        </div>
      )}
      <div
        role="status"
        aria-live="polite"
        className={
          (error ? "afb__status afb__status--error" : "afb__status") + (messageInDialog ? " afb__status--in-dialog" : "")
        }
        // While the dialog shows the message, this copy is for assistive technology only.
        style={messageInDialog ? s.visuallyHidden : error ? s.error : s.status}
      >
        {/* The nearest live region decides: an alert inside this polite region is announced assertively, once. */}
        {assertive ? <span role="alert">{errorText}</span> : errorText}
        {errorText && noticeText ? " " : ""}
        {noticeText}
      </div>
    </div>
  );
}

// Thumb outline from Feather Icons (MIT); the thumb down is the same path turned over.
function ThumbIcon({ down, filled, style }: { down: boolean; filled: boolean; style?: CSSProperties }) {
  return (
    <svg
      aria-hidden="true"
      focusable="false"
      viewBox="0 0 24 24"
      width="1em"
      height="1em"
      fill={filled ? "currentColor" : "none"}
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      style={style}
    >
      <path
        transform={down ? "rotate(180 12 12)" : undefined}
        d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"
      />
    </svg>
  );
}

const button: CSSProperties = {
  display: "inline-flex",
  alignItems: "center",
  justifyContent: "center",
  padding: "var(--feedback-buttons-padding, 0.375em)",
  border: "var(--feedback-buttons-border, 1px solid transparent)",
  borderRadius: "var(--feedback-buttons-radius, 0.375em)",
  background: "var(--feedback-buttons-background, transparent)",
  color: "var(--feedback-buttons-color, inherit)",
  font: "inherit",
  lineHeight: 1,
  cursor: "pointer",
};

const styles = {
  root: { display: "inline-block", maxWidth: "100%" },
  row: { display: "inline-flex", alignItems: "center", gap: "var(--feedback-buttons-gap, 0.25em)" },
  button,
  pressedButton: {
    ...button,
    background: "var(--feedback-buttons-pressed-background, rgba(127, 127, 127, 0.2))",
    color: "var(--feedback-buttons-pressed-color, inherit)",
  },
  icon: { width: "var(--feedback-buttons-icon-size, 1.25em)", height: "var(--feedback-buttons-icon-size, 1.25em)" },
  commentButton: { ...button, fontSize: "0.875em", textDecoration: "underline" },
  dialog: {
    marginTop: "var(--feedback-buttons-gap, 0.25em)",
    padding: "var(--feedback-buttons-dialog-padding, 0.75em)",
    border: "var(--feedback-buttons-dialog-border, 1px solid rgba(127, 127, 127, 0.4))",
    borderRadius: "var(--feedback-buttons-radius, 0.375em)",
    background: "var(--feedback-buttons-dialog-background, transparent)",
    width: "var(--feedback-buttons-dialog-width, 20em)",
    maxWidth: "100%",
    boxSizing: "border-box",
  },
  title: { margin: "0 0 0.5em", fontWeight: 600 },
  label: { display: "block", fontSize: "0.875em" },
  textarea: { display: "block", width: "100%", boxSizing: "border-box", margin: "0.25em 0 0.5em", font: "inherit" },
  actions: { display: "flex", gap: "var(--feedback-buttons-gap, 0.25em)" },
  actionButton: { font: "inherit", cursor: "pointer" },
  status: { fontSize: "0.875em" },
  error: { fontSize: "0.875em", color: "var(--feedback-buttons-error-color, #b42318)" },
  dialogMessage: { margin: "0 0 0.5em", fontSize: "0.875em" },
  dialogError: { margin: "0 0 0.5em", fontSize: "0.875em", color: "var(--feedback-buttons-error-color, #b42318)" },
  visuallyHidden: {
    position: "absolute",
    width: "1px",
    height: "1px",
    margin: "-1px",
    padding: 0,
    overflow: "hidden",
    clipPath: "inset(50%)",
    whiteSpace: "nowrap",
    border: 0,
  },
} satisfies Record<string, CSSProperties>;

