import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FeedbackButtons, type FeedbackButtonsProps } from "../src/FeedbackButtons";
import { FakeFeedbackApi, keyOf } from "./fakeFeedbackApi";

const API_URL = "http://127.0.0.1:3000/";
const TOKEN = "tok-run-1";

let api: FakeFeedbackApi;

beforeEach(() => {
  api = new FakeFeedbackApi();
});

afterEach(() => {
  cleanup();
});

async function renderButtons(props: Partial<FeedbackButtonsProps> = {}) {
  const user = userEvent.setup();
  const onChange = vi.fn();
  const result = render(
    <FeedbackButtons feedbackToken={TOKEN} apiUrl={API_URL} fetch={api.fetch} onChange={onChange} {...props} />,
  );
  const group = screen.getByRole("group", { name: "Rate this response" });
  await waitFor(() => expect(group.getAttribute("aria-busy")).toBe("false"));
  return { user, onChange, group, ...result };
}

const good = () => screen.getByRole("button", { name: "Good response" });
const bad = () => screen.getByRole("button", { name: "Bad response" });
const pressed = (button: HTMLElement) => button.getAttribute("aria-pressed");
const status = () => screen.getByRole("status");
const dialog = () => screen.queryByRole("dialog", { name: "Tell us more" });
const commentBox = () => screen.getByRole("textbox", { name: "Comment (optional)" });
const textOf = (element: HTMLElement) => (element as HTMLTextAreaElement).value;

/** Lets every promise that can settle do so (the fake's held requests stay held). */
async function flush() {
  for (let i = 0; i < 3; i++) await act(async () => new Promise((resolve) => setTimeout(resolve, 0)));
}

/** Renders without waiting for the saved state to load. */
function renderLoading(props: Partial<FeedbackButtonsProps> = {}) {
  const user = userEvent.setup();
  const onChange = vi.fn();
  render(<FeedbackButtons feedbackToken={TOKEN} apiUrl={API_URL} fetch={api.fetch} onChange={onChange} {...props} />);
  return { user, onChange };
}

const UNAVAILABLE = { status: 503, code: "unavailable", message: "The feedback service is down for maintenance." };

describe("FeedbackButtons: loading the saved state", () => {
  it("shows the vote saved for this run and user", async () => {
    api.votes.set(keyOf(TOKEN, "user-7"), { outcome: "negative", comment: null });
    await renderButtons({ userID: "user-7" });

    expect(pressed(bad())).toBe("true");
    expect(pressed(good())).toBe("false");
    const get = api.requests[0]!;
    expect(get.method).toBe("GET");
    expect(get.url.pathname).toBe("/v1/feedback");
    expect(get.url.searchParams.get("feedback_token")).toBe(TOKEN);
    expect(get.url.searchParams.get("user_id")).toBe("user-7");
  });

  it("shows no vote when nothing is saved, and sends no user_id for an anonymous user", async () => {
    await renderButtons();
    expect(pressed(good())).toBe("false");
    expect(pressed(bad())).toBe("false");
    expect(api.requests[0]!.url.searchParams.has("user_id")).toBe(false);
    expect(screen.queryByRole("button", { name: /comment/i })).toBeNull();
  });

  it("reports a failed load politely and still lets the user vote", async () => {
    api.getFailure = { status: 401, code: "invalid_feedback_token", message: "This feedback token has expired." };
    const { user } = await renderButtons({ allowComment: false });

    expect(status().textContent).toContain("This feedback token has expired.");
    expect(status().getAttribute("aria-live")).toBe("polite");

    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    await waitFor(() => expect(status().textContent).toBe("Thanks for your feedback."));
  });

  it("lets a click made while loading win over the loaded vote", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: null });
    const releaseGets = api.holdGets();
    const user = userEvent.setup();
    render(<FeedbackButtons feedbackToken={TOKEN} apiUrl={API_URL} fetch={api.fetch} allowComment={false} />);
    expect(screen.getByRole("group").getAttribute("aria-busy")).toBe("true");

    api.holdPosts = true;
    await user.click(bad());
    await act(async () => releaseGets());
    await waitFor(() => expect(screen.getByRole("group").getAttribute("aria-busy")).toBe("false"));
    // The saved "positive" arrived after the click and must not replace it.
    expect(pressed(bad())).toBe("true");
    expect(pressed(good())).toBe("false");

    await waitFor(() => expect(api.heldCount).toBe(1));
    await act(async () => api.release());
    await waitFor(() => expect(api.votes.get(keyOf(TOKEN, null))!.outcome).toBe("negative"));
    expect(pressed(bad())).toBe("true");
  });

  it("loads once the effects settle under StrictMode, with no stray state", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: null });
    render(
      <StrictMode>
        <FeedbackButtons feedbackToken={TOKEN} apiUrl={API_URL} fetch={api.fetch} />
      </StrictMode>,
    );
    await waitFor(() => expect(pressed(good())).toBe("true"));
    expect(pressed(bad())).toBe("false");
  });

  it("waits quietly for a token that has not arrived yet", async () => {
    const { user } = await renderButtons({ feedbackToken: "", allowComment: false });
    expect(api.requests).toHaveLength(0);
    expect(status().textContent).toBe("");

    await user.click(good());
    await waitFor(() => expect(status().textContent).toContain("feedbackToken is required."));
    expect(pressed(good())).toBe("false");
  });

  it("loads the new run's vote when the token changes", async () => {
    api.votes.set(keyOf("tok-run-2", null), { outcome: "negative", comment: null });
    const { rerender } = await renderButtons();
    expect(pressed(bad())).toBe("false");

    rerender(<FeedbackButtons feedbackToken="tok-run-2" apiUrl={API_URL} fetch={api.fetch} />);
    await waitFor(() => expect(pressed(bad())).toBe("true"));
    expect(api.requests.at(-1)!.url.searchParams.get("feedback_token")).toBe("tok-run-2");
  });
});

describe("FeedbackButtons: voting", () => {
  it("presses the button at once, before the server answers, then keeps it", async () => {
    api.holdPosts = true;
    const { user, onChange } = await renderButtons({ userID: "user-7", allowComment: false });

    await user.click(bad());
    expect(pressed(bad())).toBe("true");
    expect(pressed(good())).toBe("false");
    await waitFor(() => expect(api.heldCount).toBe(1));
    expect(onChange).not.toHaveBeenCalled();

    await act(async () => api.release());
    await waitFor(() => expect(onChange).toHaveBeenCalledWith({ outcome: "negative", comment: null }));
    expect(pressed(bad())).toBe("true");
    expect(status().textContent).toBe("Thanks for your feedback.");
    expect(api.posts[0]!.body).toEqual({ feedback_token: TOKEN, outcome: "negative", user_id: "user-7" });
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "negative", comment: null });
  });

  it("never sends an Authorization header", async () => {
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    for (const request of api.requests) expect(request.headers.has("authorization")).toBe(false);
  });

  it("rolls back and shows the server's message when the save fails", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "negative", comment: null });
    api.postFailures.push({ status: 401, code: "invalid_feedback_token", message: "This feedback token has expired." });
    api.holdPosts = true;
    const { user, onChange } = await renderButtons({ allowComment: false });
    expect(pressed(bad())).toBe("true");

    await user.click(good());
    expect(pressed(good())).toBe("true");
    expect(pressed(bad())).toBe("false");

    await waitFor(() => expect(api.heldCount).toBe(1));
    await act(async () => api.release());
    await waitFor(() => expect(status().textContent).toContain("This feedback token has expired."));
    expect(status().textContent).toContain("Your feedback was not saved");
    expect(pressed(good())).toBe("false");
    expect(pressed(bad())).toBe("true");
    expect(onChange).not.toHaveBeenCalled();
  });

  it("rolls back with a clear message when the network fails", async () => {
    api.postFailures.push("network");
    const { user } = await renderButtons({ allowComment: false });

    await user.click(good());
    await waitFor(() => expect(status().textContent).toMatch(/could not reach the feedback service/i));
    expect(pressed(good())).toBe("false");
  });

  it("clears the error on the next vote", async () => {
    api.postFailures.push("network");
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    await waitFor(() => expect(status().textContent).toMatch(/not saved/));

    await user.click(good());
    await waitFor(() => expect(status().textContent).toBe("Thanks for your feedback."));
    expect(pressed(good())).toBe("true");
  });

  it("sends rapid changes in click order and settles on the last one", async () => {
    api.holdPosts = true;
    const { user, onChange } = await renderButtons({ allowComment: false });

    await user.click(good());
    await user.click(bad());
    expect(pressed(bad())).toBe("true");
    // The second save waits for the first, so the server cannot apply them out of order.
    await waitFor(() => expect(api.posts).toHaveLength(1));
    await act(async () => api.release());
    await waitFor(() => expect(api.posts).toHaveLength(2));
    expect(pressed(bad())).toBe("true");
    await act(async () => api.release());

    await waitFor(() => expect(onChange).toHaveBeenCalledTimes(1));
    expect(onChange).toHaveBeenCalledWith({ outcome: "negative", comment: null });
    expect(api.posts.map((p) => p.body!.outcome)).toEqual(["positive", "negative"]);
    expect(api.votes.get(keyOf(TOKEN, null))!.outcome).toBe("negative");
    expect(pressed(bad())).toBe("true");
  });

  it("rolls back to the last vote the server confirmed when a later one fails", async () => {
    api.holdPosts = true;
    api.postFailures.push(null, { status: 429, code: "rate_limited", message: "Too many requests, try again in a minute." });
    const { user, onChange } = await renderButtons({ allowComment: false });

    await user.click(good());
    await user.click(bad());
    await waitFor(() => expect(api.heldCount).toBe(1));
    await act(async () => api.release());
    await waitFor(() => expect(api.heldCount).toBe(1));
    await act(async () => api.release());

    await waitFor(() => expect(status().textContent).toContain("Too many requests"));
    expect(pressed(good())).toBe("true");
    expect(pressed(bad())).toBe("false");
    expect(onChange).toHaveBeenCalledWith({ outcome: "positive", comment: null });
  });

  it("does not post again when the pressed button is clicked: that takes the vote back", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: null });
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    expect(pressed(good())).toBe("false");
    await waitFor(() => expect(api.deletes).toHaveLength(1));
    expect(api.posts).toHaveLength(0);
  });

  it("works from the keyboard", async () => {
    const { user } = await renderButtons({ allowComment: false });
    await user.tab();
    expect(document.activeElement).toBe(good());
    await user.keyboard("{Enter}");
    expect(pressed(good())).toBe("true");
    await user.tab();
    expect(document.activeElement).toBe(bad());
    await user.keyboard(" ");
    expect(pressed(bad())).toBe("true");
    await waitFor(() => expect(api.posts).toHaveLength(2));
  });

  it("stops quietly when unmounted with a save in flight", async () => {
    api.holdPosts = true;
    const { user, onChange, unmount } = await renderButtons({ allowComment: false });
    await user.click(good());
    await waitFor(() => expect(api.heldCount).toBe(1));
    unmount();
    // The aborted request must not surface as an unhandled rejection (Vitest fails the run on one).
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(onChange).not.toHaveBeenCalled();
  });
});

describe("FeedbackButtons: comment dialog", () => {
  it("opens after a vote with focus inside, and sends the comment with the vote", async () => {
    const { user, onChange } = await renderButtons({ userID: "user-7" });

    await user.click(good());
    const box = dialog();
    expect(box).not.toBeNull();
    expect(document.activeElement).toBe(commentBox());
    expect(box!.getAttribute("aria-labelledby")).toBeTruthy();

    await user.type(commentBox(), "Clear and correct.");
    await user.click(within(box!).getByRole("button", { name: "Send" }));

    await waitFor(() => expect(dialog()).toBeNull());
    expect(document.activeElement).toBe(good());
    expect(status().textContent).toBe("Thanks, your comment was saved.");
    expect(api.posts.at(-1)!.body).toEqual({
      feedback_token: TOKEN,
      outcome: "positive",
      comment: "Clear and correct.",
      user_id: "user-7",
    });
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "positive", comment: "Clear and correct." });
    expect(onChange).toHaveBeenLastCalledWith({ outcome: "positive", comment: "Clear and correct." });
    expect(screen.getByRole("button", { name: "Edit comment" })).toBeTruthy();
  });

  it("closes on Escape and returns focus to the button that opened it, sending no comment", async () => {
    const { user } = await renderButtons();
    await user.click(bad());
    expect(dialog()).not.toBeNull();
    await user.type(commentBox(), "never mind");

    await user.keyboard("{Escape}");
    expect(dialog()).toBeNull();
    expect(document.activeElement).toBe(bad());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toEqual({ feedback_token: TOKEN, outcome: "negative" });
    expect(pressed(bad())).toBe("true");
  });

  it("closes on Cancel and returns focus", async () => {
    const { user } = await renderButtons();
    await user.click(good());
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(dialog()).toBeNull();
    expect(document.activeElement).toBe(good());
  });

  it("lets the user edit a saved comment later, prefilled, and returns focus to the edit button", async () => {
    api.votes.set(keyOf(TOKEN, "user-7"), { outcome: "negative", comment: "Wrong date." });
    const { user } = await renderButtons({ userID: "user-7" });

    const edit = screen.getByRole("button", { name: "Edit comment" });
    expect(edit.getAttribute("aria-expanded")).toBe("false");
    await user.click(edit);
    expect(edit.getAttribute("aria-expanded")).toBe("true");
    expect(edit.getAttribute("aria-controls")).toBe(dialog()!.id);
    expect((commentBox() as HTMLTextAreaElement).value).toBe("Wrong date.");
    expect(document.activeElement).toBe(commentBox());

    await user.clear(commentBox());
    await user.type(commentBox(), "Wrong date and wrong city.");
    await user.keyboard("{Control>}{Enter}{/Control}");

    await waitFor(() => expect(dialog()).toBeNull());
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Edit comment" }));
    expect(api.posts).toHaveLength(1);
    expect(api.posts[0]!.body).toEqual({
      feedback_token: TOKEN,
      outcome: "negative",
      comment: "Wrong date and wrong city.",
      user_id: "user-7",
    });
  });

  it("keeps the saved comment when the user changes the outcome", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: "Mostly right." });
    const { user } = await renderButtons();

    await user.click(bad());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toEqual({ feedback_token: TOKEN, outcome: "negative", comment: "Mostly right." });
    expect((commentBox() as HTMLTextAreaElement).value).toBe("Mostly right.");
  });

  it("keeps the dialog and the draft when saving the comment fails, and shows why", async () => {
    const { user } = await renderButtons();
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    api.postFailures.push({ status: 400, code: "invalid_request", message: "comment must be at most 2000 characters." });

    await user.type(commentBox(), "A long story");
    await user.click(screen.getByRole("button", { name: "Send" }));

    await waitFor(() => expect(status().textContent).toContain("comment must be at most 2000 characters."));
    expect(dialog()).not.toBeNull();
    expect((commentBox() as HTMLTextAreaElement).value).toBe("A long story");
    expect(pressed(good())).toBe("true");
    expect(screen.getByRole("button", { name: "Add comment" })).toBeTruthy();
  });

  it("keeps the dialog, the draft and the focus when the vote it belongs to fails slowly", async () => {
    // Issue 10 item 7 turned this around: the dialog used to close, dropping the text and moving focus.
    api.holdPosts = true;
    api.postFailures.push({ status: 401, code: "invalid_feedback_token", message: "This feedback token has expired." });
    const { user } = await renderButtons();

    await user.click(good());
    expect(dialog()).not.toBeNull();
    await waitFor(() => expect(api.heldCount).toBe(1));
    await user.type(commentBox(), "It took ages");
    await act(async () => api.release());

    await waitFor(() => expect(status().textContent).toContain("This feedback token has expired."));
    expect(dialog()).not.toBeNull();
    expect((commentBox() as HTMLTextAreaElement).value).toBe("It took ages");
    expect(document.activeElement).toBe(commentBox());
    expect(pressed(good())).toBe("false");
    // The next key goes into the text, it does not vote again.
    await user.keyboard(" ");
    expect((commentBox() as HTMLTextAreaElement).value).toBe("It took ages ");
    await flush();
    expect(api.posts).toHaveLength(1);
  });

  it("just closes the dialog when the comment is sent unchanged", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: "Fine." });
    const { user } = await renderButtons();
    await user.click(screen.getByRole("button", { name: "Edit comment" }));
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(dialog()).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Edit comment" }));
    expect(api.posts).toHaveLength(0);
  });

  it("offers no dialog when allowComment is false", async () => {
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    expect(dialog()).toBeNull();
    expect(screen.queryByRole("button", { name: /comment/i })).toBeNull();
  });

  it("works when the server does not report comments", async () => {
    api.reportComment = false;
    api.votes.set(keyOf(TOKEN, null), { outcome: "positive", comment: null });
    const { user } = await renderButtons();
    expect(pressed(good())).toBe("true");

    await user.click(screen.getByRole("button", { name: "Add comment" }));
    expect((commentBox() as HTMLTextAreaElement).value).toBe("");
  });
});

describe("FeedbackButtons: taking a vote back", () => {
  it("clicking the pressed thumb retracts at once, then says so politely", async () => {
    api.votes.set(keyOf(TOKEN, "user-7"), { outcome: "positive", comment: "Nice" });
    api.holdPosts = true;
    const { user, onChange } = await renderButtons({ userID: "user-7" });
    expect(pressed(good())).toBe("true");

    await user.click(good());
    expect(pressed(good())).toBe("false"); // before the server answers
    expect(pressed(bad())).toBe("false");
    expect(dialog()).toBeNull();
    await waitFor(() => expect(api.heldCount).toBe(1));
    await act(async () => api.release());

    await waitFor(() => expect(status().textContent).toBe("Your vote was removed."));
    expect(status().getAttribute("aria-live")).toBe("polite");
    expect(within(status()).queryByRole("alert")).toBeNull();
    expect(onChange).toHaveBeenCalledWith({ outcome: null, comment: null });
    const [retraction] = api.deletes;
    expect(retraction!.url.pathname).toBe("/v1/feedback");
    expect(Object.fromEntries(retraction!.url.searchParams)).toEqual({ feedback_token: TOKEN, user_id: "user-7" });
    expect(retraction!.headers.has("authorization")).toBe(false);
    expect(api.votes.has(keyOf(TOKEN, "user-7"))).toBe(false);
    expect(screen.queryByRole("button", { name: /comment/i })).toBeNull();
    expect(api.posts).toHaveLength(0);
  });

  it("rolls the retraction back when the server refuses it, and says why", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "negative", comment: null });
    api.deleteFailures.push(UNAVAILABLE);
    const { user, onChange } = await renderButtons({ allowComment: false });

    await user.click(bad());
    await waitFor(() => expect(status().textContent).toContain("down for maintenance"));
    expect(status().textContent).toContain("Your vote was not removed:");
    expect(pressed(bad())).toBe("true");
    expect(onChange).not.toHaveBeenCalled();
    expect(api.votes.get(keyOf(TOKEN, null))).toEqual({ outcome: "negative", comment: null });
  });

  it("counts a vote already gone on the server (404 nothing_to_retract) as taken back", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "negative", comment: null });
    const { user } = await renderButtons({ allowComment: false });
    api.votes.clear(); // taken back in another tab meanwhile

    await user.click(bad());
    await waitFor(() => expect(status().textContent).toBe("Your vote was removed."));
    expect(pressed(bad())).toBe("false");
  });

  it("votes again after a retraction, and a retraction after a vote made on this page", async () => {
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    await user.click(good()); // queued behind the vote: sent after it
    await waitFor(() => expect(status().textContent).toBe("Your vote was removed."));
    await user.click(bad());
    await waitFor(() => expect(api.votes.get(keyOf(TOKEN, null))?.outcome).toBe("negative"));
    expect(api.requests.filter((r) => r.method !== "GET").map((r) => r.method)).toEqual(["POST", "DELETE", "POST"]);
    expect(pressed(bad())).toBe("true");
  });

  it("keeps the comment box's text when a retraction closes it", async () => {
    const { user } = await renderButtons();
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    await user.type(commentBox(), "half a thought");
    await user.click(good());
    expect(dialog()).toBeNull();
    await waitFor(() => expect(status().textContent).toBe("Your vote was removed."));
    await user.click(bad()); // a new vote opens the dialog again, with the text kept
    expect(textOf(commentBox())).toBe("half a thought");
  });
});

describe("FeedbackButtons: a token that reads no comment", () => {
  it("changes the vote with keep_comment, so the comment it cannot see survives", async () => {
    api.reportComment = false;
    api.votes.set(keyOf(TOKEN, "user-7"), { outcome: "positive", comment: "Saved earlier" });
    const { user, onChange } = await renderButtons({ userID: "user-7", allowComment: false });

    await user.click(bad());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toEqual({ feedback_token: TOKEN, outcome: "negative", user_id: "user-7", keep_comment: true });
    await waitFor(() => expect(onChange).toHaveBeenCalledWith({ outcome: "negative", comment: undefined }));
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "negative", comment: "Saved earlier" });
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(2));
    expect(api.posts[1]!.body).toMatchObject({ keep_comment: true });
    expect(api.votes.get(keyOf(TOKEN, "user-7"))!.comment).toBe("Saved earlier");
  });
});

describe("FeedbackButtons: theming", () => {
  it("adds className to the root, injects no global CSS, and reads CSS variables", async () => {
    const { container } = await renderButtons({ className: "my-feedback" });
    const root = container.firstElementChild as HTMLElement;
    expect(root.className).toBe("afb my-feedback");
    expect(document.querySelectorAll("style, link[rel=stylesheet]")).toHaveLength(0);
    const row = root.querySelector(".afb__row") as HTMLElement;
    expect(row.getAttribute("style")).toContain("--feedback-buttons-gap");
  });

  it("drops every inline style when unstyled", async () => {
    const { container, user } = await renderButtons({ unstyled: true });
    await user.click(good());
    expect(dialog()).not.toBeNull();
    expect(container.querySelectorAll("[style]")).toHaveLength(0);
  });

  it("takes translated labels", async () => {
    await renderButtons({ labels: { positive: "Bonne réponse", negative: "Mauvaise réponse" } });
    expect(screen.getByRole("button", { name: "Bonne réponse" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Mauvaise réponse" })).toBeTruthy();
  });
});

describe("FeedbackButtons: never erases a comment it has not shown", () => {
  beforeEach(() => {
    api.votes.set(keyOf(TOKEN, "user-7"), { outcome: "positive", comment: "Mostly right." });
  });

  it("holds a click made while the saved state loads, then sends the vote with the saved comment", async () => {
    const releaseGets = api.holdGets();
    const { user } = renderLoading({ userID: "user-7", allowComment: false });

    await user.click(bad());
    expect(pressed(bad())).toBe("true");
    await flush();
    expect(api.posts).toHaveLength(0);

    await act(async () => releaseGets());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toEqual({
      feedback_token: TOKEN,
      outcome: "negative",
      comment: "Mostly right.",
      user_id: "user-7",
    });
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "negative", comment: "Mostly right." });
    await waitFor(() => expect(status().textContent).toBe("Thanks for your feedback."));
    expect(pressed(bad())).toBe("true");
  });

  it("sends nothing when the load a click was waiting for fails, and rolls back", async () => {
    api.getFailure = UNAVAILABLE;
    const releaseGets = api.holdGets();
    const { user, onChange } = renderLoading({ userID: "user-7", allowComment: false });

    await user.click(bad());
    await act(async () => releaseGets());
    await waitFor(() => expect(status().textContent).toContain("down for maintenance"));
    expect(status().textContent).toContain("Your feedback was not saved");
    expect(api.posts).toHaveLength(0);
    expect(pressed(bad())).toBe("false");
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "positive", comment: "Mostly right." });
    expect(onChange).not.toHaveBeenCalled();
  });

  it("after loading failed (503), a click loads the saved state again and keeps the comment", async () => {
    api.getFailures.push(UNAVAILABLE);
    const { user } = await renderButtons({ userID: "user-7", allowComment: false });
    expect(status().textContent).toContain("Your earlier feedback could not be loaded");

    await user.click(bad());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.gets).toHaveLength(2);
    expect(api.posts[0]!.body).toMatchObject({ outcome: "negative", comment: "Mostly right." });
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "negative", comment: "Mostly right." });
    await waitFor(() => expect(status().textContent).toBe("Thanks for your feedback."));
  });

  it("after loading failed (503), sends no vote while the saved state still cannot be loaded", async () => {
    api.getFailure = UNAVAILABLE;
    const { user } = await renderButtons({ userID: "user-7", allowComment: false });

    await user.click(good());
    await waitFor(() => expect(api.gets).toHaveLength(2));
    await waitFor(() => expect(status().textContent).toContain("Your feedback was not saved"));
    expect(status().textContent).toContain("down for maintenance");
    expect(api.posts).toHaveLength(0);
    expect(pressed(good())).toBe("false");
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({ outcome: "positive", comment: "Mostly right." });
  });

  it("fills the dialog opened while loading with the saved comment when it arrives", async () => {
    const releaseGets = api.holdGets();
    const { user } = renderLoading({ userID: "user-7" });

    await user.click(bad());
    expect(textOf(commentBox())).toBe("");
    await act(async () => releaseGets());
    await waitFor(() => expect(textOf(commentBox())).toBe("Mostly right."));
    const box = commentBox() as HTMLTextAreaElement;
    expect([box.selectionStart, box.selectionEnd]).toEqual([13, 13]);
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toMatchObject({ outcome: "negative", comment: "Mostly right." });
  });

  it("puts a saved comment that arrives late above the text typed meanwhile, and sends both only when asked", async () => {
    const releaseGets = api.holdGets();
    const { user } = renderLoading({ userID: "user-7" });

    await user.click(bad());
    await user.type(commentBox(), "Also slow.");
    await act(async () => releaseGets());
    await waitFor(() => expect(textOf(commentBox())).toBe("Mostly right.\n\nAlso slow."));
    expect(status().textContent).toContain("Your earlier comment was loaded");
    await waitFor(() => expect(api.posts).toHaveLength(1));
    expect(api.posts[0]!.body).toMatchObject({ outcome: "negative", comment: "Mostly right." });

    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(dialog()).toBeNull());
    expect(api.posts.at(-1)!.body).toMatchObject({ outcome: "negative", comment: "Mostly right.\n\nAlso slow." });
  });

  it("after loading failed, Send loads the saved comment first and shows it before replacing it", async () => {
    api.getFailures.push(UNAVAILABLE, UNAVAILABLE);
    const { user } = await renderButtons({ userID: "user-7" });

    await user.click(bad()); // the second GET fails too: the vote is not sent, the dialog stays
    await waitFor(() => expect(status().textContent).toContain("Your feedback was not saved"));
    expect(api.posts).toHaveLength(0);
    await user.type(commentBox(), "Wrong city.");

    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(textOf(commentBox())).toBe("Mostly right.\n\nWrong city."));
    expect(api.posts).toHaveLength(0);
    const note = document.getElementById(commentBox().getAttribute("aria-describedby")!)!;
    expect(dialog()!.contains(note)).toBe(true);
    expect(note.textContent).toContain("Your earlier comment was loaded");

    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(dialog()).toBeNull());
    expect(api.posts).toHaveLength(1);
    expect(api.votes.get(keyOf(TOKEN, "user-7"))).toEqual({
      outcome: "negative",
      comment: "Mostly right.\n\nWrong city.",
    });
  });

  it("keeps the dialog and the text when Send cannot load the saved comment", async () => {
    api.getFailure = UNAVAILABLE;
    const { user } = await renderButtons({ userID: "user-7" });
    await user.click(bad());
    await waitFor(() => expect(status().textContent).toContain("Your feedback was not saved"));
    await user.type(commentBox(), "Wrong city.");

    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(api.gets).toHaveLength(3));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("could not be loaded"));
    expect(dialog()).not.toBeNull();
    expect(textOf(commentBox())).toBe("Wrong city.");
    expect(api.posts).toHaveLength(0);
  });
});

describe("FeedbackButtons: nothing the user typed is dropped", () => {
  async function failSlowVote(failure = UNAVAILABLE) {
    api.holdPosts = true;
    api.postFailures.push(failure);
    const rendered = await renderButtons();
    await rendered.user.click(good());
    await waitFor(() => expect(api.heldCount).toBe(1));
    await rendered.user.type(commentBox(), "Half a thought");
    await act(async () => api.release());
    await waitFor(() => expect(status().textContent).toContain(failure.message));
    return rendered;
  }

  it("shows the error inside the dialog, linked to the text box, which is marked invalid", async () => {
    await failSlowVote();
    const box = commentBox();
    expect(box.getAttribute("aria-invalid")).toBe("true");
    const described = box.getAttribute("aria-describedby");
    expect(described).toBeTruthy();
    const description = document.getElementById(described!)!;
    expect(dialog()!.contains(description)).toBe(true);
    expect(description.textContent).toBe("Your feedback was not saved: The feedback service is down for maintenance.");
  });

  it("announces a failed save assertively, once", async () => {
    await failSlowVote();
    const alerts = screen.getAllByRole("alert");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.textContent).toContain("down for maintenance");
    // The copy inside the dialog is a description, not a second live region.
    expect(document.getElementById(commentBox().getAttribute("aria-describedby")!)!.closest("[aria-live], [role=alert], [role=status]")).toBeNull();
  });

  it("announces a failed save assertively when no dialog is open", async () => {
    api.postFailures.push(UNAVAILABLE);
    const { user } = await renderButtons({ allowComment: false });
    await user.click(good());
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("down for maintenance"));
  });

  it("keeps a failed load polite", async () => {
    api.getFailure = UNAVAILABLE;
    await renderButtons();
    expect(status().textContent).toContain("down for maintenance");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("sends the kept text with the vote that failed when the user sends again", async () => {
    const { user, onChange } = await failSlowVote();
    api.holdPosts = false;
    await user.click(screen.getByRole("button", { name: "Send" }));

    await waitFor(() => expect(dialog()).toBeNull());
    expect(api.posts.at(-1)!.body).toEqual({ feedback_token: TOKEN, outcome: "positive", comment: "Half a thought" });
    expect(pressed(good())).toBe("true");
    expect(document.activeElement).toBe(good());
    expect(onChange).toHaveBeenLastCalledWith({ outcome: "positive", comment: "Half a thought" });
  });

  it("puts the caret at the end of a saved comment when editing", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "negative", comment: "Wrong date." });
    const { user } = await renderButtons();
    await user.click(screen.getByRole("button", { name: "Edit comment" }));
    const box = commentBox() as HTMLTextAreaElement;
    expect(document.activeElement).toBe(box);
    expect([box.selectionStart, box.selectionEnd]).toEqual([11, 11]);
    await user.keyboard(" And the city.");
    expect(box.value).toBe("Wrong date. And the city.");
  });

  it("keeps an unsent draft on Escape, says so, and shows it again when the dialog reopens", async () => {
    const { user } = await renderButtons();
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    await user.type(commentBox(), "Not finished");

    await user.keyboard("{Escape}");
    expect(dialog()).toBeNull();
    expect(status().textContent).toBe("Your comment was not sent. It is kept for when you reopen the comment box.");
    expect(api.posts).toHaveLength(1);

    await user.click(screen.getByRole("button", { name: "Add comment" }));
    expect(textOf(commentBox())).toBe("Not finished");
    const box = commentBox() as HTMLTextAreaElement;
    expect(box.selectionStart).toBe("Not finished".length);
  });

  it("after a failed vote, closing the dialog puts focus where a stray key cannot vote again", async () => {
    api.votes.set(keyOf(TOKEN, null), { outcome: "negative", comment: null });
    api.postFailures.push(UNAVAILABLE);
    const { user } = await renderButtons();

    await user.click(good());
    await waitFor(() => expect(status().textContent).toContain("down for maintenance"));
    expect(pressed(good())).toBe("false");
    await user.keyboard("{Escape}");

    expect(dialog()).toBeNull();
    expect(document.activeElement).not.toBe(good());
    // Not a thumb (Space there would vote, or take the vote back): the comment button, where Space opens the dialog.
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Add comment" }));
    await user.keyboard(" ");
    expect(dialog()).not.toBeNull();
    await flush();
    expect(api.posts).toHaveLength(1);
    expect(api.requests.filter((r) => r.method === "DELETE")).toHaveLength(0);
  });

  it("with nothing pressed after a failed vote, closing the dialog focuses the group", async () => {
    api.postFailures.push(UNAVAILABLE);
    const { user, group } = await renderButtons();
    await user.click(good());
    await waitFor(() => expect(status().textContent).toContain("down for maintenance"));
    await user.keyboard("{Escape}");

    expect(document.activeElement).toBe(group);
    await user.keyboard(" ");
    await flush();
    expect(api.posts).toHaveLength(1);
  });

  it("keeps text typed while the comment was being saved", async () => {
    const { user } = await renderButtons();
    await user.click(good());
    await waitFor(() => expect(api.posts).toHaveLength(1));
    api.holdPosts = true;
    await user.type(commentBox(), "First part.");
    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => expect(api.heldCount).toBe(1));
    await user.type(commentBox(), " Second part.");
    await act(async () => api.release());

    await waitFor(() => expect(status().textContent).toBe("Thanks, your comment was saved."));
    expect(dialog()).not.toBeNull();
    expect(textOf(commentBox())).toBe("First part. Second part.");
  });
});
