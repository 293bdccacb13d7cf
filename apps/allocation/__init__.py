"""Shared-cost rules and the per-day results that split shared costs onto teams."""
