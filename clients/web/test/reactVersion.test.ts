/// <reference types="vite/client" />
import { version as reactVersion } from "react";
import { version as reactDomVersion } from "react-dom";
import { expect, it } from "vitest";

// Guards the React 18 run (npm run test:react18): its aliases must really swap React.
it("runs on the React major this run is meant for", () => {
  const major = import.meta.env.EXPECT_REACT_MAJOR ?? "19";
  expect(reactVersion.split(".")[0]).toBe(major);
  expect(reactDomVersion.split(".")[0]).toBe(major);
});
