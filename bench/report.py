"""The bars, and the report: a Markdown table and an SVG chart drawn without a plotting library."""

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from bench import scenarios as s
from bench.wrk import Result


@dataclass
class Bar:
    name: str
    measured: float
    target: float
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.measured >= self.target if self.higher_is_better else self.measured <= self.target


def bars(results: dict[str, Result], memory: dict[str, float]) -> list[Bar]:
    """The bars, each a ratio within one run (the machine's absolute speed drifts), but memory."""

    def rps(scenario_id: str) -> float:
        return results[scenario_id].requests_per_second

    def me_next_to(baseline: str) -> float:
        """/api/me/ measured right after the baseline: a pair close in time holds on a noisy machine."""
        return rps(s.next_to(baseline)) if s.next_to(baseline) in results else rps(s.ME)

    calm, flooded = results[s.ME_CALM], results[s.ME_FLOOD]
    # The flood's price: /api/me/ keeps most of its throughput and its p99 (the old bar, p99 under
    # 60 ms at 32 connections, was out of reach on 2 CPUs by Little's law: the bare hello's own p99
    # there is 46-79 ms).
    flood_rps = flooded.requests_per_second / max(calm.requests_per_second, 1e-9)
    flood_p99 = flooded.p99_ms / max(calm.p99_ms, 1e-9)
    return [
        Bar("/api/me/ vs the bare WSGI ceiling", me_next_to(s.CEILING) / rps(s.CEILING), 0.35),
        Bar("/api/me/ vs runserver", me_next_to(s.RUNSERVER) / rps(s.RUNSERVER), 2.5),
        Bar("/api/me/ vs the naive setup", me_next_to(s.NAIVE_ME) / rps(s.NAIVE_ME), 3.0),
        Bar("static file vs /api/me/", rps(s.STATIC) / rps(s.ME), 15.0),
        Bar("sign-in: Argon2id vs PBKDF2", rps(s.LOGIN) / rps(s.LOGIN_PBKDF2), 5.0),
        Bar("/api/me/ requests/s during a sign-in flood vs before it", flood_rps, 0.8),
        Bar("/api/me/ p99 during a sign-in flood vs before it", flood_p99, 1.5, False),
        Bar("a web worker's memory growth over its life in the soak", memory["growth_percent"], 10.0, False, " %"),
    ]


def idle_scenarios(results: dict[str, Result]) -> list[str]:
    """Scenarios in which no request completed: no ratio can be drawn from them."""
    return [scenario_id for scenario_id, result in results.items() if result.requests_per_second <= 0]


def markdown(
    results: dict[str, Result],
    checks: list[Bar],
    memory: dict[str, float],
    meta: dict[str, str],
    ratios: dict[str, list[float]],
) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; wrk and the stack on the same machine, wrk on the "
        f"stack's front network unless stated, HTTPS, {meta['duration']} s per scenario, "
        f"{meta['connections']} connections unless stated.",
        "",
        "| scenario | requests/s | p50 ms | p90 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results.values():
        figures = f"{r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.errors:,}"
        lines.append(f"| {s.label(r.id)} | {figures} |")
    lines += ["", "| bar | measured | target | met |", "| --- | ---: | ---: | :---: |"]
    for bar in checks:
        sign = ">=" if bar.higher_is_better else "<="
        met = "yes" if bar.met else "NO"
        lines.append(f"| {bar.name} | {bar.measured:.2f}{bar.unit} | {sign} {bar.target:g}{bar.unit} | {met} |")
    lines += [
        "",
        f"web's largest Gunicorn worker over {memory['requests']:,.0f} requests: {memory['worker_rss_mib_warm']} MiB "
        f"warm, {memory['worker_rss_mib_peak']} MiB at the soak's peak; no worker grew by more than "
        f"{memory['growth_percent']} % over its own life ({memory['workers_started']:.0f} started by max_requests "
        "meanwhile). A worker keeps ~19 MiB after its second Argon2id sign-in, so workers differ by that much; "
        "each is compared with itself.",
        "The flood row counts the sign-ins Nginx let through (10 at once, then 5/s); errors there "
        "would be its 429s beyond the burst.",
    ]
    for baseline, per_round in ratios.items():
        figures = ", ".join(f"{ratio:.2f}" for ratio in per_round)
        lines.append(
            f"{s.ROUND_RATIOS[baseline].capitalize()} in each of {len(per_round)} alternated rounds: {figures} "
            "(the table shows the median round's pair)."
        )
    return "\n".join(lines) + "\n"


def svg_chart(results: dict[str, Result], meta: dict[str, str]) -> str:
    """Requests/s of every scenario as horizontal bars on a log scale (static files and PBKDF2
    sign-ins are four orders of magnitude apart): the stack as configured in blue, the baselines
    and the stack with its sign-in limits lifted in grey. Plain SVG, no plotting library."""
    label_width, bar_width, row, top = 400, 420, 24, 70
    decades = max(1, math.ceil(math.log10(max((r.requests_per_second for r in results.values()), default=1) or 1)))
    height = top + row * len(results) + 16

    def x(rps: float) -> float:
        return label_width + bar_width * math.log10(max(rps, 1.0)) / decades

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="8" y="18" font-size="14">Requests/s, log scale: <tspan fill="#2f6db5">the stack as '
        'configured</tspan>, <tspan fill="#777">baselines and the stack with its sign-in limits lifted</tspan></text>',
        f'<text x="8" y="36" fill="#666">{escape(meta["date"])}, {escape(meta["machine"])}, '
        f"{escape(meta['connections'])} connections unless stated</text>",
    ]
    for power in range(decades + 1):
        parts.append(
            f'<line x1="{x(10**power):.1f}" y1="{top - 12}" x2="{x(10**power):.1f}" y2="{height - 12}" stroke="#ddd"/>'
            f'<text x="{x(10**power):.1f}" y="{top - 16}" text-anchor="middle" fill="#666">{10**power:,}</text>'
        )
    for index, result in enumerate(results.values()):
        y, end, name = top + index * row, x(result.requests_per_second), escape(s.label(result.id))
        colour = "#999" if result.id in s.BASELINES else "#2f6db5"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 12}" text-anchor="end">{name}</text>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{end - label_width:.1f}" height="16" '
            f'fill="{colour}"><title>{name}</title></rect>'
            f'<text x="{end + 6:.1f}" y="{y + 12}">{result.requests_per_second:,.0f}</text>'
        )
    return "\n".join([*parts, "</svg>"]) + "\n"
