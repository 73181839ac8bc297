export {
  FeedbackError,
  canonicalUserID,
  feedbackUrl,
  getFeedback,
  retractFeedback,
  sendFeedback,
  type FeedbackEntry,
  type GetFeedbackOptions,
  type Outcome,
  type RetractedFeedback,
  type RetractFeedbackOptions,
  type SavedFeedback,
  type SendFeedbackOptions,
} from "./client.js";
export {
  useFeedback,
  type FeedbackState,
  type SaveResult,
  type UseFeedbackOptions,
  type UseFeedbackResult,
} from "./useFeedback.js";
export {
  FeedbackButtons,
  defaultFeedbackButtonsLabels,
  type FeedbackButtonsLabels,
  type FeedbackButtonsProps,
} from "./FeedbackButtons.js";
