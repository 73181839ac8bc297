// The demo page: asks the demo server to run the agent (the API key stays on the server), then shows the
// answer with FeedbackButtons from the built package (clients/web/dist). Plain createElement: no JSX step.
import { Fragment, createElement as h, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { FeedbackButtons } from "@agent-feedback/web";

const params = new URLSearchParams(window.location.search);
const USER_ID = params.get("user") || "demo-user";

async function runAgent(question) {
  // The demo's stand-in for a signed-in user: the backend names them on the run, which binds its token to them.
  const query = new URLSearchParams({ question, user: USER_ID });
  const response = await fetch(`/api/run?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message || `The demo server answered ${response.status}.`);
  return body;
}

function App() {
  const [question, setQuestion] = useState(params.get("question") || "What is the capital of France?");
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const busyRef = useRef(false);

  async function ask(text) {
    if (busyRef.current) return; // one run at a time; the button stays focusable meanwhile
    busyRef.current = true;
    setBusy(true);
    setError(null);
    try {
      setRun(await runAgent(text));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      busyRef.current = false;
      setBusy(false);
    }
  }

  useEffect(() => {
    // The demo server keeps one run per question, so a reload shows the same run and its saved vote.
    ask(question);
  }, []);

  // index.html's <main> holds this; a second <main> would be a second main landmark.
  return h(
    Fragment,
    null,
    h(
      "form",
      {
        className: "ask",
        "aria-busy": busy,
        onSubmit: (event) => {
          event.preventDefault();
          ask(question);
        },
      },
      h("input", {
        "aria-label": "Question",
        value: question,
        onChange: (event) => setQuestion(event.target.value),
      }),
      // aria-disabled, not disabled: a disabled button drops the focus of whoever pressed it (to <body>).
      h("button", { type: "submit", "aria-disabled": busy }, busy ? "Running…" : "Ask"),
    ),
    error && h("p", { className: "error", role: "alert" }, error),
    run &&
      h(
        "section",
        { className: "answer", "aria-label": "Agent answer", "data-run-id": run.run_id },
        h("pre", { "data-testid": "agent-output" }, JSON.stringify(run.output, null, 2)),
        h(FeedbackButtons, {
          feedbackToken: run.feedback_token,
          apiUrl: run.api_url,
          userID: USER_ID,
          className: "demo-feedback",
        }),
      ),
  );
}

createRoot(document.getElementById("root")).render(h(App));
