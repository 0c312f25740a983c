"""wrk's command line, and its --latency report read into a Result."""

import re
from dataclasses import dataclass

from bench.config import THREADS
from bench.scenarios import Scenario

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class Result:
    id: str
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    requests: int

    @property
    def answered(self) -> int:
        """Requests answered without an error (a flood's 429s, which Nginx answers, are errors)."""
        return self.requests - self.errors


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * UNITS_MS[unit]


def parse_wrk(scenario_id: str, output: str) -> Result:
    """Read wrk's --latency report."""
    percentile = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non_2xx[1]) if non_2xx else 0)
    return Result(
        id=scenario_id,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),  # type: ignore[index]
        p50_ms=to_ms(percentile["50"]),
        p90_ms=to_ms(percentile["90"]),
        p99_ms=to_ms(percentile["99"]),
        errors=errors,
        requests=int(re.search(r"(\d+) requests in", output)[1]),  # type: ignore[index]
    )


def wrk_arguments(url: str, scenario: Scenario, *, connections: int, duration: int, host: str) -> list[str]:
    """wrk's arguments for one run against `url` (Host set to a name the site serves)."""
    headers = {"Host": host} | scenario.headers
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    script_args = ["--script", f"/wrk/{scenario.script}"] if scenario.script else []
    return [
        "wrk", "--threads", str(THREADS), "--connections", str(scenario.connections or connections),
        "--duration", f"{scenario.duration or duration}s", "--timeout", "10s", "--latency",
        *header_args, *script_args, url + scenario.path,
    ]  # fmt: skip
