"""benchmarks/load.py, bounded to 10 s: no 5xx and no lost image under 60 concurrent clients."""

from __future__ import annotations

import pytest

from benchmarks.load import parse_args, report, run
from tests.support.stack import redis_available

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ten_seconds_of_pollers_and_submitters_lose_nothing(tmp_path):
    if not redis_available():
        pytest.skip("Redis not reachable")
    args = parse_args(["--seconds", "10", "--pollers", "50", "--submitters", "10",
                       "--drain-timeout", "240"])

    result = run(args, tmp_path)

    print(report(result))
    assert result.accepted and result.poll_latencies
    assert (result.server_errors, result.transport_errors) == (0, 0)
    assert (result.lost_images, result.unfinished_jobs) == (0, 0)
