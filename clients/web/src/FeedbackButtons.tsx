import {
  useEffect,
  useId,
  useRef,
  useState,
  type CSSProperties,
  type FormEvent,
  type KeyboardEvent,
  type Ref,
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
  loadFailed: string;
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
  loadFailed: "Your earlier feedback could not be loaded:",
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

type Notice = "thanks" | "commentSaved" | null;

/**
 * Thumbs up and down for one agent run, with an optional comment. Themed through `className`,
 * the `afb__*` class names and `--feedback-buttons-*` CSS variables; it ships no global CSS.
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

  const [dialogOpen, setDialogOpen] = useState(false);
  const [draft, setDraft] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [notice, setNotice] = useState<Notice>(null);
  const dialogOpenRef = useRef(false);
  const triggerRef = useRef<HTMLElement | null>(null);
  const positiveRef = useRef<HTMLButtonElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const restoreFocusRef = useRef(false);
  const submittingRef = useRef(false);

  const baseId = useId();
  const dialogId = `${baseId}-dialog`;
  const titleId = `${baseId}-title`;
  const textareaId = `${baseId}-comment`;

  // A new token is a new run: forget the dialog and messages of the previous one.
  useEffect(() => {
    dialogOpenRef.current = false;
    setDialogOpen(false);
    setNotice(null);
  }, [props.feedbackToken, props.userID, props.apiUrl]);

  useEffect(() => {
    if (dialogOpen) {
      textareaRef.current?.focus();
    } else if (restoreFocusRef.current) {
      restoreFocusRef.current = false;
      const trigger = triggerRef.current;
      (trigger?.isConnected ? trigger : positiveRef.current)?.focus();
    }
  }, [dialogOpen]);

  function openDialog(trigger: HTMLElement) {
    triggerRef.current = trigger;
    if (!dialogOpenRef.current) setDraft(comment ?? "");
    dialogOpenRef.current = true;
    setDialogOpen(true);
  }

  function closeDialog() {
    if (!dialogOpenRef.current) return;
    const active = typeof document === "undefined" ? null : document.activeElement;
    // Return focus only when it was in the dialog (or got lost), never steal it from elsewhere.
    restoreFocusRef.current = !active || active === document.body || !!dialogRef.current?.contains(active);
    dialogOpenRef.current = false;
    setDialogOpen(false);
  }

  async function handleVote(next: Outcome, button: HTMLButtonElement) {
    if (next === outcome) {
      if (allowComment) openDialog(button);
      return;
    }
    setNotice(null);
    if (allowComment) openDialog(button);
    const result = await feedback.vote(next);
    if (result === "saved") setNotice("thanks");
    // The dialog belongs to a vote that did not happen.
    if (result === "failed") closeDialog();
  }

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submittingRef.current) return;
    if (draft.trim() === (comment ?? "").trim()) {
      closeDialog();
      return;
    }
    submittingRef.current = true;
    setSubmitting(true);
    setNotice(null);
    const result = await feedback.saveComment(draft);
    submittingRef.current = false;
    setSubmitting(false);
    if (result === "saved") {
      setNotice("commentSaved");
      closeDialog();
    }
    // On failure the dialog stays open with the draft, and the error shows below it.
  }

  function handleDialogKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      event.stopPropagation();
      event.preventDefault();
      closeDialog();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target === textareaRef.current) {
      event.preventDefault();
      event.currentTarget.querySelector("form")?.requestSubmit();
    }
  }

  const error = feedback.error;
  const message = error
    ? `${error.source === "load" ? labels.loadFailed : labels.saveFailed} ${error.error.message}`
    : notice
      ? labels[notice]
      : "";

  const s: Partial<typeof styles> = unstyled ? {} : styles;
  const thumb = (value: Outcome, ref?: Ref<HTMLButtonElement>) => {
    const pressed = outcome === value;
    return (
      <button
        ref={ref}
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
    <div className={props.className ? `afb ${props.className}` : "afb"} style={s.root}>
      <div role="group" aria-label={labels.group} aria-busy={feedback.loading} className="afb__row" style={s.row}>
        {thumb("positive", positiveRef)}
        {thumb("negative")}
        {allowComment && outcome && (
          <button
            type="button"
            className="afb__comment-button"
            aria-expanded={dialogOpen}
            aria-controls={dialogOpen ? dialogId : undefined}
            onClick={(event) => (dialogOpen ? closeDialog() : openDialog(event.currentTarget))}
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
              placeholder={outcome === "negative" ? labels.negativePlaceholder : labels.positivePlaceholder}
              onChange={(event) => setDraft(event.target.value)}
              style={s.textarea}
            />
            <div className="afb__actions" style={s.actions}>
              <button type="submit" className="afb__submit" aria-disabled={submitting} style={s.actionButton}>
                {labels.submitComment}
              </button>
              <button type="button" className="afb__cancel" onClick={closeDialog} style={s.actionButton}>
                {labels.cancel}
              </button>
            </div>
          </form>
        </div>
      )}
      <div
        role="status"
        aria-live="polite"
        className={error ? "afb__status afb__status--error" : "afb__status"}
        style={error ? s.error : s.status}
      >
        {message}
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
} satisfies Record<string, CSSProperties>;

