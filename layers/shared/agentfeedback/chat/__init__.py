"""OpenAI-compatible chat completions, each one a recorded run."""
