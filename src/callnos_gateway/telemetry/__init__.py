"""What the gateway tells operators beside its answers: JSON logs, secret redaction, the metrics directory."""
