"""Fault injection: workers, Redis, PostgreSQL and the web killed or restarted mid-job."""

from tests.support.fault_stack import fault_stack, own_redis  # noqa: F401 (fixtures)
