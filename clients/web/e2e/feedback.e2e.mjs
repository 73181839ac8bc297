// End-to-end test of FeedbackButtons in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
//
//   node clients/web/e2e/feedback.e2e.mjs DEMO_URL API_BASE_URL [--user ID] [--question TEXT] [--artifacts DIR]
//
// DEMO_URL is the demo page (examples/demo/server.py), API_BASE_URL the API the page posts votes to.
// Scenario: thumbs up, add a comment, change to thumbs down and edit the comment, reload and see the saved
// state; then two failing saves (connection refused, server error) showing the rollback and the message.
// Prints one JSON line with what the page showed; exits non-zero on the first failed check.
// tests/integration/test_browser_e2e.py runs it against the local stack and checks the stored entry.
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
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

  // 1. The page shows the agent's answer and the buttons, nothing pressed yet.
  await page.goto(pageUrl.href);
  await page.getByTestId("agent-output").waitFor();
  result.output = JSON.parse(await page.getByTestId("agent-output").innerText());
  result.run_id = await page.getByRole("region", { name: "Agent answer" }).getAttribute("data-run-id");
  await loaded(page);
  await expectPressed(page, false, false);
  await page.screenshot({ path: join(artifacts, "demo-before-feedback.png") });
  result.steps.push("loaded");

  // 2. Thumbs up: pressed at once, saved, then a comment through the dialog.
  let saved = savedPost(page);
  await page.getByRole("button", { name: "Good response", exact: true }).click();
  await expectPressed(page, true, false);
  check((await postOk(saved, "thumbs up")).outcome === "positive", "thumbs up saved as positive");
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
  const edited = await comment(page, "On second thought, the answer is made up.");
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
  check(result.reloaded_comment === "On second thought, the answer is made up.", "the saved comment loads on reload");
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

  // 7. A final reload: still thumbs down, nothing of the failed saves stuck.
  await page.reload();
  await loaded(page);
  await expectPressed(page, false, true);
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
