"""Optional error reporting to Sentry or a compatible service (GlitchTip, ...): on when SENTRY_DSN
is set, off otherwise (nothing is imported or sent).

What is sent: unhandled exceptions (the 500s) and ERROR log records, with the request's method,
URL pattern, status and request id (the `request_id` tag, the same id as in every log line and
X-Request-ID), the release (APP_VERSION) and the environment. What is not: request bodies,
cookies, headers that carry credentials, query strings, the user's address or identity, local
variables. `scrub` removes them again before anything leaves, whatever the SDK's defaults are.
"""

from typing import Any

from core.logging import request_id

# Request headers that may be sent; every other header is dropped.
SAFE_HEADERS = {"accept", "content-type", "content-length", "user-agent", "x-request-id", "host"}


def scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """Strip what could hold a secret or identify a person, and tag the request id."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
        url = request.get("url")
        if isinstance(url, str):
            request["url"] = url.split("?", 1)[0]
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    event.setdefault("tags", {})["request_id"] = request_id.get()
    return event


def report_exception(exception: BaseException) -> None:
    """Send an exception the app answered itself (a JSON 500), if reporting is on."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active() and sentry_sdk.get_client().dsn:
        sentry_sdk.capture_exception(exception)


def init_sentry(dsn: str, *, environment: str, release: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        # Errors only: no performance tracing, no profiling.
        traces_sample_rate=0.0,
        before_send=scrub,  # type: ignore[arg-type]
        # A slow or unreachable endpoint never holds a request: events queue in a background
        # thread, and at most 2 s are spent sending what is left when a worker exits.
        shutdown_timeout=2,
    )
