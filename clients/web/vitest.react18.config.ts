import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vite.config.ts";

// Runs the same tests against React 18, installed outside the lock file by
// scripts/test-react18.mjs (npm cannot hold React 18 and 19 side by side in one tree).
const react18 = fileURLToPath(new URL("./node_modules/.cache/react18/node_modules/", import.meta.url));
// The testing library's CommonJS build would require React 19 past the aliases; use its ES build.
const testingLibrary = dirname(createRequire(import.meta.url).resolve("@testing-library/react/package.json"));

export default mergeConfig(
  base,
  defineConfig({
    resolve: {
      alias: [
        { find: /^react$/, replacement: `${react18}react/index.js` },
        { find: /^react\/(.*)$/, replacement: `${react18}react/$1` },
        { find: /^react-dom$/, replacement: `${react18}react-dom/index.js` },
        { find: /^react-dom\/(.*)$/, replacement: `${react18}react-dom/$1` },
        { find: /^@testing-library\/react$/, replacement: join(testingLibrary, "dist/@testing-library/react.esm.js") },
      ],
    },
    test: {
      env: { EXPECT_REACT_MAJOR: "18" },
      server: { deps: { inline: ["@testing-library/react"] } },
    },
  }),
);
