"""Budgets, month-end forecasts, anomaly detection and the alerts they raise."""
