import { defineConfig } from "vitest/config";

// Library build: readable ES modules (the app's bundler minifies them); React stays a peer.
export default defineConfig({
  build: {
    target: "es2020",
    lib: {
      entry: { index: "src/index.ts", client: "src/client.ts" },
      formats: ["es"],
    },
    rolldownOptions: {
      external: [/^react(\/|$)/, /^react-dom(\/|$)/],
    },
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
