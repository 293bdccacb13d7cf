"""OpenTelemetry ingestion: GenAI spans sent to POST /otlp/v1/traces become usage events."""
