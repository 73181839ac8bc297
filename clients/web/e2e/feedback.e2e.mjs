// End-to-end test of FeedbackButtons in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
//
//   node clients/web/e2e/feedback.e2e.mjs DEMO_URL API_BASE_URL [--user ID] [--question TEXT] [--artifacts DIR]
//
// DEMO_URL is the demo page (examples/demo/server.py), API_BASE_URL the API the page posts votes to.
// Scenario: thumbs up, add a comment, change to thumbs down and edit the comment, reload and see the saved
// state; then two failing saves (connection refused, server error) showing the rollback and the message;
// a vote that fails slowly while the user types in the dialog (the text, the dialog and the focus stay,
// the error is shown inside the dialog and announced); a click before the saved state has loaded, and
// one after loading failed (neither may erase the saved comment); the Ask button while a run is in
// flight; taking the vote back by clicking the pressed thumb (at once, announced politely, still gone after
// a reload). axe-core checks the page for WCAG 2.x A/AA violations (and content outside landmarks) when it
// loads, with the dialog open, and with an error shown.
// Prints one JSON line with what the page showed; exits non-zero on the first failed check.
// tests/integration/test_browser_e2e.py runs it against the local stack and checks the stored entry.
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TIMEOUT_MS = 15_000;
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    user: { type: "string", default: "demo-user" },
    question: { type: "string", default: "What is the capital of France?" },
    artifacts: { type: "string", default: "test-artifacts/e2e" },
  },
});
if (positionals.length !== 2) {
  console.error("usage: node feedback.e2e.mjs DEMO_URL API_BASE_URL [--user ID] [--question TEXT] [--artifacts DIR]");
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: run \`make e2e-deps\` (installs Debian's chromium package).`);
  process.exit(3);
}
const [demoUrl, apiBaseUrl] = positionals;
// The comment step 3 saves last; later steps check that no vote erases it.
const FINAL_COMMENT = "On second thought, the answer is made up.";
const apiUrl = apiBaseUrl.replace(/\/+$/, "");
const artifacts = resolve(values.artifacts);
mkdirSync(artifacts, { recursive: true });

const pageUrl = new URL(demoUrl);
pageUrl.searchParams.set("question", values.question);
pageUrl.searchParams.set("user", values.user);

function check(condition, message) {
  if (!condition) throw new Error(`Check failed: ${message}`);
}

async function expectPressed(page, positive, negative) {
  const good = page.getByRole("button", { name: "Good response", exact: true });
  const bad = page.getByRole("button", { name: "Bad response", exact: true });
  await page.waitForFunction(
    ([g, b]) => {
      const find = (name) => document.querySelector(`button[aria-label="${name}"]`)?.getAttribute("aria-pressed");
      return find("Good response") === g && find("Bad response") === b;
    },
    [String(positive), String(negative)],
    { timeout: TIMEOUT_MS },
  );
  check((await good.getAttribute("aria-pressed")) === String(positive), `Good response aria-pressed=${positive}`);
  check((await bad.getAttribute("aria-pressed")) === String(negative), `Bad response aria-pressed=${negative}`);
}

async function loaded(page) {
  await page.getByRole("group", { name: "Rate this response" }).and(page.locator('[aria-busy="false"]')).waitFor({
    timeout: TIMEOUT_MS,
  });
}

// Waits for the next feedback POST that the server confirms with 200.
function savedPost(page) {
  return page.waitForResponse(
    (response) => response.url().startsWith(`${apiUrl}/v1/feedback`) && response.request().method() === "POST",
    { timeout: TIMEOUT_MS },
  );
}

async function postOk(promise, what) {
  const response = await promise;
  check(response.status() === 200, `${what}: POST /v1/feedback answered ${response.status()}`);
  return response.json();
}

async function comment(page, text) {
  const dialog = page.getByRole("dialog", { name: "Tell us more" });
  await dialog.waitFor({ timeout: TIMEOUT_MS });
  const box = dialog.getByRole("textbox", { name: "Comment (optional)" });
  check(await box.evaluate((element) => element === document.activeElement), "focus moves into the comment box");
  await box.fill(text);
  const saved = savedPost(page);
  await dialog.getByRole("button", { name: "Send" }).click();
  const body = await postOk(saved, `comment ${JSON.stringify(text)}`);
  await dialog.waitFor({ state: "detached", timeout: TIMEOUT_MS });
  return body;
}

// axe-core in the page: WCAG 2.0-2.2 A and AA rules, plus "region" (all content inside landmarks).
async function axeViolations(page, state) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE_SCRIPT });
  const found = await page.evaluate(async (tags) => {
    const summary = (results) =>
      results.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
    const wcag = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
    const landmarks = await window.axe.run(document, { runOnly: { type: "rule", values: ["region"] } });
    return [...summary(wcag), ...summary(landmarks)];
  }, WCAG_A_AA);
  check(found.length === 0, `axe found violations (${state}): ${JSON.stringify(found)}`);
  return found;
}

// Holds matching requests until release() is called (a slow server, without sleeping).
async function holdRequests(page, url, method) {
  const held = [];
  let open = false;
  let arrived;
  const first = new Promise((resolve) => (arrived = resolve));
  await page.route(url, async (route) => {
    if (route.request().method() !== method) return route.fallback();
    if (open) return route.fallback();
    held.push(route);
    arrived(route);
  });
  return {
    first,
    count: () => held.length,
    async release(answer = (route) => route.fallback()) {
      open = true;
      for (const route of held.splice(0)) await answer(route);
      await page.unroute(url);
    },
  };
}

const focusedIsInDialog = (page) =>
  page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]') && document.activeElement.tagName === "TEXTAREA");

const userDataDir = mkdtempSync(join(tmpdir(), "feedback-e2e-chromium-"));
const result = { page: pageUrl.href, user_id: values.user, steps: [] };
let context;
let page;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 640 },
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  const feedbackPostsSent = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().startsWith(`${apiUrl}/v1/feedback`)) feedbackPostsSent.push(request);
  });
  result.axe = {};

  // 1. The page shows the agent's answer and the buttons, nothing pressed yet.
  await page.goto(pageUrl.href);
  await page.getByTestId("agent-output").waitFor();
  result.output = JSON.parse(await page.getByTestId("agent-output").innerText());
  result.run_id = await page.getByRole("region", { name: "Agent answer" }).getAttribute("data-run-id");
  await loaded(page);
  await expectPressed(page, false, false);
  await page.screenshot({ path: join(artifacts, "demo-before-feedback.png") });
  result.axe.initial = await axeViolations(page, "initial");
  result.steps.push("loaded");

  // 2. Thumbs up: pressed at once, saved, then a comment through the dialog.
  let saved = savedPost(page);
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await expectPressed(page, true, false);
  check((await postOk(saved, "thumbs up")).outcome === "positive", "thumbs up saved as positive");
  await page.getByRole("dialog", { name: "Tell us more" }).waitFor();
  result.axe["dialog open"] = await axeViolations(page, "dialog open");
  await comment(page, "Clear and to the point.");
  await page.getByRole("status").filter({ hasText: "comment was saved" }).waitFor();
  result.steps.push("thumbs up + comment");

  // 3. Change to thumbs down (the comment is kept), then edit the comment.
  saved = savedPost(page);
  await page.getByRole("button", { name: "Bad response", exact: true }).click();
  await expectPressed(page, false, true);
  const changed = await postOk(saved, "thumbs down");
  check(changed.outcome === "negative", "thumbs down saved as negative");
  check(changed.comment === "Clear and to the point.", `changing the vote keeps the comment (got ${changed.comment})`);
  const dialog = page.getByRole("dialog", { name: "Tell us more" });
  if (await dialog.isVisible()) {
    await dialog.getByRole("textbox", { name: "Comment (optional)" }).fill("");
    await dialog.getByRole("button", { name: "Cancel" }).click();
  }
  await page.getByRole("button", { name: "Edit comment" }).click();
  const edited = await comment(page, FINAL_COMMENT);
  check(edited.outcome === "negative", "editing the comment keeps thumbs down");
  result.steps.push("thumbs down + edited comment");

  // 4. Reload: the saved vote and comment load from the server.
  await page.reload();
  await page.getByTestId("agent-output").waitFor();
  await loaded(page);
  await expectPressed(page, false, true);
  await page.getByRole("button", { name: "Edit comment" }).click();
  const box = page.getByRole("dialog", { name: "Tell us more" }).getByRole("textbox", { name: "Comment (optional)" });
  result.reloaded_comment = await box.inputValue();
  check(result.reloaded_comment === FINAL_COMMENT, "the saved comment loads on reload");
  await page.screenshot({ path: join(artifacts, "demo-after-feedback.png") });
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("dialog").waitFor({ state: "detached" });
  result.steps.push("reload shows saved state");

  // 5. The network refuses the save: the button goes back to the confirmed state and a message shows.
  const feedbackPosts = `${apiUrl}/v1/feedback**`;
  await page.route(feedbackPosts, (route) =>
    route.request().method() === "POST" ? route.abort("connectionrefused") : route.fallback(),
  );
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  const status = page.getByRole("status");
  await status.filter({ hasText: "Your feedback was not saved" }).waitFor();
  await expectPressed(page, false, true);
  result.network_failure_message = (await status.innerText()).trim();
  await page.screenshot({ path: join(artifacts, "demo-network-failure.png") });
  result.steps.push("connection refused: rolled back");

  // 6. The server refuses the save (an error response): its message is shown, and the vote rolls back.
  await page.unroute(feedbackPosts);
  const refusal = "The feedback service is down for maintenance.";
  await page.route(feedbackPosts, (route) =>
    route.request().method() === "POST"
      ? route.fulfill({
          status: 503,
          contentType: "application/json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({ error: { status_code: 503, code: "unavailable", message: refusal } }),
        })
      : route.fallback(),
  );
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await status.filter({ hasText: refusal }).waitFor();
  await expectPressed(page, false, true);
  result.server_error_message = (await status.innerText()).trim();
  await page.screenshot({ path: join(artifacts, "demo-server-error.png") });
  await page.unroute(feedbackPosts);
  result.steps.push("server error: rolled back");

  // 7. A vote fails slowly while the user types in the dialog: the text, the dialog and the focus stay,
  // the error shows inside the dialog (linked to the text box) and is announced assertively.
  const slow = {};
  const openDialog = page.getByRole("dialog", { name: "Tell us more" });
  if (await openDialog.isVisible()) {
    await openDialog.getByRole("button", { name: "Cancel" }).click();
    await openDialog.waitFor({ state: "detached" });
  }
  const heldVote = await holdRequests(page, feedbackPosts, "POST");
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await openDialog.waitFor();
  const slowBox = openDialog.getByRole("textbox", { name: "Comment (optional)" });
  const caret = await slowBox.evaluate((box) => [box.selectionStart, box.selectionEnd, box.value.length]);
  slow.caret_at_end = caret[0] === caret[2] && caret[1] === caret[2];
  check(slow.caret_at_end, `the caret starts at the end of the saved comment (selection ${caret})`);
  await heldVote.first;
  await page.keyboard.press("ControlOrMeta+a");
  const draft = "The answer was right, but it took";
  await page.keyboard.type(draft);
  const postsBeforeFailure = feedbackPostsSent.length;
  await heldVote.release((route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      headers: { "access-control-allow-origin": "*" },
      body: JSON.stringify({ error: { status_code: 503, code: "unavailable", message: refusal } }),
    }),
  );
  const alert = page.getByRole("alert").filter({ hasText: refusal });
  await alert.waitFor();
  await expectPressed(page, false, true);
  slow.dialog_open = await openDialog.isVisible();
  slow.draft = await slowBox.inputValue();
  slow.focus_in_text_box = await focusedIsInDialog(page);
  slow.aria_invalid = await slowBox.getAttribute("aria-invalid");
  slow.error_in_dialog = await slowBox.evaluate((box) => {
    const described = document.getElementById(box.getAttribute("aria-describedby") || "");
    return described && box.closest('[role="dialog"]').contains(described) ? described.textContent : null;
  });
  slow.announced = (await alert.innerText()).trim();
  check(slow.dialog_open, "the dialog stays open when its vote fails");
  check(slow.draft === draft, `the draft survives the failure (got ${JSON.stringify(slow.draft)})`);
  check(slow.focus_in_text_box, "focus stays in the text box");
  check(slow.aria_invalid === "true", "the text box is marked aria-invalid");
  check(slow.error_in_dialog?.includes(refusal), `the error is inside the dialog, linked by aria-describedby (${slow.error_in_dialog})`);
  await page.screenshot({ path: join(artifacts, "demo-slow-failure.png") });
  result.axe["error shown"] = await axeViolations(page, "error shown");
  // The next Space is typed into the text; it does not vote again.
  await page.keyboard.press("Space");
  slow.after_space = await slowBox.inputValue();
  check(slow.after_space === `${draft} `, "Space types into the kept draft");
  check(feedbackPostsSent.length === postsBeforeFailure, "no vote was sent again");
  // Escape keeps the unsent draft; focus lands on no thumb (Space there would vote, or take the vote back): on
  // the comment button, where Space opens the dialog.
  await page.keyboard.press("Escape");
  await openDialog.waitFor({ state: "detached" });
  slow.focus_after_escape = await page.evaluate(() => [
    document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent,
    document.activeElement?.getAttribute("aria-pressed"),
  ]);
  check(slow.focus_after_escape[1] === null, `focus after Escape is not on a thumb (${slow.focus_after_escape})`);
  await page.getByRole("status").filter({ hasText: "not sent" }).waitFor();
  await page.getByRole("button", { name: "Edit comment" }).click();
  slow.reopened_draft = await slowBox.inputValue();
  check(slow.reopened_draft === slow.after_space, "the kept draft shows again when the dialog reopens");
  check(feedbackPostsSent.length === postsBeforeFailure, "closing and reopening sent nothing");
  result.slow_failure = slow;
  result.steps.push("slow failure keeps the draft");

  // 8. A click before the saved state has loaded: the vote waits for it and keeps the saved comment.
  const early = {};
  const heldLoad = await holdRequests(page, feedbackPosts, "GET");
  await page.reload();
  await page.getByTestId("agent-output").waitFor();
  await heldLoad.first;
  early.busy_when_clicked = await page.getByRole("group", { name: "Rate this response" }).getAttribute("aria-busy");
  const postsBeforeEarlyClick = feedbackPostsSent.length;
  saved = savedPost(page);
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await expectPressed(page, true, false);
  early.posts_while_loading = feedbackPostsSent.length - postsBeforeEarlyClick;
  await heldLoad.release();
  const earlyVote = await postOk(saved, "vote clicked while loading");
  early.post_body = JSON.parse(feedbackPostsSent.at(-1).postData());
  early.saved = earlyVote;
  check(early.busy_when_clicked === "true", "the click happened while the saved state was loading");
  check(early.posts_while_loading === 0, "nothing was posted before the saved state loaded");
  check(earlyVote.comment === FINAL_COMMENT, `the vote kept the saved comment (got ${JSON.stringify(earlyVote.comment)})`);
  // The dialog opened with the click, before the comment was known; it fills in once loaded.
  await page.waitForFunction(
    (text) => document.querySelector('[role="dialog"] textarea')?.value === text,
    FINAL_COMMENT,
    { timeout: TIMEOUT_MS },
  );
  await openDialog.getByRole("button", { name: "Cancel" }).click();
  saved = savedPost(page);
  await page.getByRole("button", { name: "Bad response", exact: true }).click();
  const backToBad = await postOk(saved, "back to thumbs down");
  check(backToBad.outcome === "negative" && backToBad.comment === FINAL_COMMENT, "thumbs down again, comment kept");
  await openDialog.getByRole("button", { name: "Cancel" }).click();
  result.early_click = early;
  result.steps.push("click while loading keeps the comment");

  // 9. Loading fails (503) and keeps failing: a click sends nothing, since it could erase the comment.
  const failedLoad = {};
  await page.route(feedbackPosts, (route) =>
    route.request().method() === "GET"
      ? route.fulfill({
          status: 503,
          contentType: "application/json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({ error: { status_code: 503, code: "unavailable", message: refusal } }),
        })
      : route.fallback(),
  );
  await page.reload();
  await page.getByTestId("agent-output").waitFor();
  await loaded(page);
  await page.getByRole("status").filter({ hasText: "could not be loaded" }).waitFor();
  const postsBeforeFailedLoadClick = feedbackPostsSent.length;
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Your feedback was not saved" }).waitFor();
  await expectPressed(page, false, false);
  failedLoad.posts = feedbackPostsSent.length - postsBeforeFailedLoadClick;
  failedLoad.message = (await page.getByRole("alert").innerText()).trim();
  check(failedLoad.posts === 0, "no vote was sent while the saved comment could not be loaded");
  await page.screenshot({ path: join(artifacts, "demo-load-failed.png") });
  result.axe["load failed"] = await axeViolations(page, "load failed");
  await page.unroute(feedbackPosts);
  result.load_failed = failedLoad;
  result.steps.push("click after a failed load sends nothing");

  // 10. The Ask button while a run is in flight: focus stays on it, and pressing it again does nothing.
  const ask = {};
  const heldRun = await holdRequests(page, /\/api\/run\?/, "GET");
  const askButton = page.getByRole("button", { name: "Ask" });
  await askButton.focus();
  await page.keyboard.press("Enter");
  await heldRun.first;
  await page.getByRole("button", { name: "Running…" }).and(page.locator('[aria-disabled="true"]')).waitFor();
  await page.keyboard.press("Enter");
  ask.focused_while_running = await page.evaluate(() => document.activeElement?.textContent);
  ask.requests_while_running = heldRun.count();
  check(ask.focused_while_running === "Running…", `focus stays on the busy Ask button (on ${ask.focused_while_running})`);
  check(ask.requests_while_running === 1, "pressing the busy Ask button starts no second run");
  await heldRun.release();
  await askButton.waitFor();
  ask.focused_after_run = await page.evaluate(() => document.activeElement?.textContent);
  check(ask.focused_after_run === "Ask", "focus is still on the Ask button after the run");
  result.ask = ask;
  result.steps.push("ask keeps focus while running");

  // 11. A reload: still thumbs down, nothing of the failed saves stuck.
  await page.reload();
  await loaded(page);
  await expectPressed(page, false, true);
  result.steps.push("reload after failures");

  // 12. Clicking the pressed thumb takes the vote back: unpressed at once, DELETE confirmed, said politely.
  const retraction = {};
  const heldRetraction = await holdRequests(page, feedbackPosts, "DELETE");
  await page.getByRole("button", { name: "Bad response", exact: true }).click();
  await heldRetraction.first;
  await expectPressed(page, false, false); // before the server answered
  retraction.pressed_before_answer = false;
  const retracted = page.waitForResponse(
    (response) => response.url().startsWith(`${apiUrl}/v1/feedback`) && response.request().method() === "DELETE",
  );
  await heldRetraction.release();
  retraction.status = (await retracted).status();
  check(retraction.status === 200, `DELETE /v1/feedback answered ${retraction.status}`);
  const removed = page.getByRole("status").filter({ hasText: "Your vote was removed." });
  await removed.waitFor();
  retraction.announced = (await removed.innerText()).trim();
  retraction.live = await removed.getAttribute("aria-live");
  check(retraction.live === "polite", "the retraction is announced politely");
  check((await page.getByRole("alert").count()) === 0, "the retraction raises no alert");
  retraction.comment_button = await page.getByRole("button", { name: /comment/i }).count();
  await page.screenshot({ path: join(artifacts, "demo-retracted.png") });
  result.axe.retracted = await axeViolations(page, "retracted");
  result.retraction = retraction;
  result.steps.push("retracted");

  // 13. A final reload: no vote.
  await page.reload();
  await loaded(page);
  await expectPressed(page, false, false);
  result.steps.push("final reload");

  check(pageErrors.length === 0, `no uncaught errors in the page: ${pageErrors.join("; ")}`);
  result.ok = true;
  console.log(JSON.stringify(result));
} catch (error) {
  result.ok = false;
  result.error = String(error?.stack || error);
  if (page) await page.screenshot({ path: join(artifacts, "failure.png") }).catch(() => {});
  console.log(JSON.stringify(result));
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
