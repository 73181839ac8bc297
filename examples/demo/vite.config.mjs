// Bundles the demo page (index.html + main.js, React and the built @agent-feedback/web) into examples/demo/dist.
// Run from the repository root: node_modules/.bin/vite build --config examples/demo/vite.config.mjs
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "./",
  logLevel: "warn",
  build: { outDir: "dist", emptyOutDir: true, target: "es2020" },
});
