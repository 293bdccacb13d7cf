"""Provider bills: pulled cost reports, imported FOCUS lines, scope mappings and reconciliation."""
