"""The demo company: a believable organisation's registry, usage, shared costs and logins, built through ingestion."""

from .services import (
    DEFAULT_SEED,
    DemoDataError,
    DemoLogin,
    DemoSummary,
    demo_company_build,
    demo_logins_ensure,
    demo_logins_existing,
    var_password,
)

__all__ = [
    "DEFAULT_SEED",
    "DemoDataError",
    "DemoLogin",
    "DemoSummary",
    "demo_company_build",
    "demo_logins_ensure",
    "demo_logins_existing",
    "var_password",
]
