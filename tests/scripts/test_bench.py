"""scripts/bench.py reads wrk's report correctly; the load itself runs in `make bench`."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402

WRK_REPORT = """Running 10s test @ https://127.0.0.1:8443/api/health/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.52ms    3.21ms   1.20s    80.00%
    Req/Sec     1.52k   120.00     1.80k    70.00%
  Latency Distribution
     50%  850.00us
     75%   12.00ms
     90%   14.25ms
     99%    1.20s
  30000 requests in 10.01s, 9.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   2997.00
Transfer/sec:      0.90MB
"""


def test_wrk_report_is_read_with_units_converted_to_milliseconds() -> None:
    result = bench.parse_wrk("health", WRK_REPORT)

    assert (result.requests_per_second, result.requests) == (2997.0, 30000)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (0.85, 14.25, 1200.0)


def test_socket_errors_and_non_2xx_responses_count_as_errors() -> None:
    assert bench.parse_wrk("health", WRK_REPORT).errors == 8


def test_a_clean_run_has_no_errors() -> None:
    clean = WRK_REPORT.replace("  Socket errors: connect 0, read 1, write 0, timeout 2\n", "").replace(
        "  Non-2xx or 3xx responses: 5\n", ""
    )

    assert bench.parse_wrk("health", clean).errors == 0
