"""Model providers behind one interface: the offline model, OpenAI-compatible APIs and Amazon Bedrock.

Import `ModelRouter` from `agentfeedback.providers.router`; provider modules (and boto3) load only when
a model that needs them is first called, to keep cold starts short.
"""
