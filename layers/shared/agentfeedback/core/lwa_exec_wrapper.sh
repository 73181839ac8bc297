#!/bin/sh
# AWS_LAMBDA_EXEC_WRAPPER of the functions behind the Lambda Web Adapter (template.yaml): Lambda runs this instead of
# the Python runtime's bootstrap, and the adapter extension forwards each invocation to the HTTP server it starts
# (agentfeedback/core/lwa_server.py), which serves the function's handler (_HANDLER, e.g. app.handle).
# The adapter's own /opt/bootstrap would exec a script named by the Handler; this keeps the Handler a Python handler
# string, the one the local stack and a direct invoke read too.
# sys.path as the Python runtime makes it: the function's package, then the layers, then the runtime's own.
PYTHONPATH="${LAMBDA_TASK_ROOT}:/opt/python:${LAMBDA_RUNTIME_DIR}${PYTHONPATH:+:$PYTHONPATH}" \
PYTHONUNBUFFERED=1 \
  exec python3 -m agentfeedback.core.lwa_server
