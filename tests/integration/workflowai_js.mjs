// Drives the real @workflowai/workflowai JS SDK against our API: run an agent for an end user (metadata.user_id,
// which binds the run's token to them), then sendFeedback.
// Usage: node workflowai_js.mjs <base_url> <api_key> <agent_id> <schema_id>; prints one JSON line.
import { WorkflowAI } from "@workflowai/workflowai";

const [baseUrl, apiKey, agentId, schemaId] = process.argv.slice(2);
const workflowAI = new WorkflowAI({ url: baseUrl, key: apiKey });
const cityFacts = workflowAI.agent({ id: agentId, schemaId: Number(schemaId), version: { model: "offline" } });

const run = await cityFacts({ city: "Oslo" }, { metadata: { user_id: "js-user" } });
await workflowAI.sendFeedback({
  feedbackToken: run.feedbackToken,
  outcome: "positive",
  comment: "From the JS SDK",
  userID: "js-user",
});
console.log(JSON.stringify({ feedbackToken: run.feedbackToken, output: run.output }));
