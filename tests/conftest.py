"""Every test runs offline: dummy credentials, a fixed region, and no real AWS endpoint."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "agent-feedback",
        "POWERTOOLS_METRICS_NAMESPACE": "AgentFeedback",
        "FEEDBACK_TABLE": "FeedbackTable",
        "RUNS_TABLE": "RunsTable",
        "AGENTS_TABLE": "AgentsTable",
        "API_KEYS_TABLE": "ApiKeysTable",
        "AGGREGATES_TABLE": "AggregatesTable",
        "TOKEN_KEY_ID": "set-by-fixtures",
        "ALLOWED_ORIGINS": "https://app.example.com,https://admin.example.com",
    }
)
os.environ.pop("AWS_PROFILE", None)
