// Streams a run with the real @workflowai/workflowai JS SDK; prints one JSON line per event as it arrives:
// {at: Unix seconds, output, feedbackToken}, then {error} if the stream raised.
// Usage: node workflowai_js_stream.mjs <base_url> <api_key> <agent_id> <schema_id> <model>
import { WorkflowAI } from "@workflowai/workflowai";

const [baseUrl, apiKey, agentId, schemaId, model] = process.argv.slice(2);
const workflowAI = new WorkflowAI({ url: baseUrl, key: apiKey });
const agent = workflowAI.agent({ id: agentId, schemaId: Number(schemaId), version: { model } });

try {
  const { stream } = await agent({ city: "Oslo" }).stream();
  for await (const event of stream) {
    console.log(JSON.stringify({ at: Date.now() / 1000, output: event.output, feedbackToken: event.feedbackToken }));
  }
} catch (error) {
  console.log(JSON.stringify({ error: String(error && error.message ? error.message : error) }));
}
