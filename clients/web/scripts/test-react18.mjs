// Installs React 18 beside the workspace (not in the lock file) and runs the tests with it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "node_modules", ".cache", "react18");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

if (!existsSync(join(dir, "node_modules", "react-dom", "package.json"))) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ private: true, dependencies: { react: "^18.3.1", "react-dom": "^18.3.1" } }, null, 2),
  );
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts"], {
    cwd: dir,
    stdio: "inherit",
  });
}
execFileSync(npm, ["exec", "--", "vitest", "run", "--config", "vitest.react18.config.ts"], { cwd: root, stdio: "inherit" });
