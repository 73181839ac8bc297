// Renders a page holding a CloudWatch custom widget's HTML in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), takes a screenshot and reports what a viewer would get.
//
//   node tests/integration/render_widget.mjs PAGE_FILE SCREENSHOT_FILE [--width 1200]
//
// Prints one JSON line: the rows of the widget's table (each cell's text), the elements a hostile comment could
// have added (script, img, iframe, elements with on* handlers), whether any script ran (window.pwned, dialogs),
// whether <cwdb-action> elements are hidden as CloudWatch hides them, and axe-core's WCAG 2.x A/AA violations.
// tests/integration/test_feedback_widget_browser.py writes the page and checks the report.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { width: { type: "string", default: "1200" } },
});
if (positionals.length !== 2) {
  console.error("usage: node render_widget.mjs PAGE_FILE SCREENSHOT_FILE [--width 1200]");
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: run \`make e2e-deps\` (installs Debian's chromium package).`);
  process.exit(3);
}
const [pageFile, screenshot] = positionals.map((path) => resolve(path));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const report = { dialogs: [], page_errors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: 600 } });
  page.on("dialog", async (dialog) => {
    report.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on("pageerror", (error) => report.page_errors.push(String(error)));
  // The page is a local file: any other request (an injected image, a stylesheet) would be a hostile one.
  page.on("request", (request) => {
    if (!request.url().startsWith("file:")) report.requests.push(request.url());
  });
  await page.goto(pathToFileURL(pageFile).href, { waitUntil: "load" });
  Object.assign(
    report,
    await page.evaluate(() => {
      const widget = document.querySelector(".fb");
      const cells = (row) => [...row.children].map((cell) => cell.innerText.trim());
      const withHandlers = [...widget.querySelectorAll("*")].filter((element) =>
        [...element.attributes].some((attribute) => attribute.name.startsWith("on")),
      );
      return {
        pwned: window.pwned ?? null,
        rows: [...widget.querySelectorAll("table tbody tr")].map(cells),
        headers: [...widget.querySelectorAll("table thead th")].map((cell) => cell.innerText.trim()),
        injected: [...widget.querySelectorAll("script, img, iframe, object, embed, link, b, i")].map((e) => e.outerHTML),
        with_handlers: withHandlers.map((element) => element.tagName.toLowerCase()),
        actions: widget.querySelectorAll("cwdb-action").length,
        actions_visible: [...widget.querySelectorAll("cwdb-action")].filter((e) => e.getBoundingClientRect().height > 0)
          .length,
        buttons: [...widget.querySelectorAll("a.btn")].map((element) => element.innerText.trim()),
        form_values: Object.fromEntries(
          [...widget.querySelectorAll("input, select")].map((element) => [element.name, element.value]),
        ),
      };
    }),
  );
  await page.addScriptTag({ path: AXE_SCRIPT });
  const axe = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((violation) => `${violation.id}: ${violation.help}`);
  });
  report.axe = axe;
  await page.screenshot({ path: screenshot, fullPage: true });
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = String(error?.stack || error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
