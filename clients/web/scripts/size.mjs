// Prints the size of each public entry point of dist/ as an app would ship it: bundled with
// its shared chunks, minified, and gzipped (React excluded, it is a peer dependency).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
if (!existsSync(join(dist, "index.js"))) {
  console.error("dist/index.js is missing: run `npm run build` first.");
  process.exit(1);
}

const kb = (n) => `${n} B (${(n / 1024).toFixed(2)} KiB)`;
const files = readdirSync(dist, { recursive: true }).filter((f) => String(f).endsWith(".js"));
const rawTotal = files.reduce((sum, f) => sum + readFileSync(join(dist, String(f))).length, 0);
console.log(`dist/*.js as published: ${kb(rawTotal)} in ${files.length} files`);

for (const entry of ["index", "client"]) {
  const result = await build({
    configFile: false,
    logLevel: "silent",
    build: {
      write: false,
      minify: true,
      target: "es2020",
      rolldownOptions: {
        input: join(dist, `${entry}.js`),
        // Keep every export: an app may use any of them.
        preserveEntrySignatures: "strict",
        external: [/^react(\/|$)/, /^react-dom(\/|$)/],
        output: { format: "es", codeSplitting: false },
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const code = outputs.filter((o) => o.type === "chunk").map((o) => o.code).join("\n");
  const label = entry === "index" ? "@agent-feedback/web" : "@agent-feedback/web/client";
  console.log(`${label}: minified ${kb(Buffer.byteLength(code))}, minified+gzipped ${kb(gzipSync(code, { level: 9 }).length)}`);
}
