"""Django's admin login, with the API's per-address sign-in limit.

DRF's throttles apply only to DRF views, so the admin's login page took guesses at full speed
(each costing a password hash: ~37 guesses/s against a superuser from one client). Behind
Nginx's limit on the same page (nginx/templates/default.conf.template), this is the second
layer, counted in the shared cache like AUTH_THROTTLE_RATE's.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from rest_framework.throttling import SimpleRateThrottle


class AdminLoginThrottle(SimpleRateThrottle):
    """Per client address, at AUTH_THROTTLE_RATE, counted apart from the API's sign-ins."""

    scope = "auth"

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        return self.cache_format % {"scope": "admin_login", "ident": self.get_ident(request)}  # type: ignore[arg-type]


@never_cache
def admin_login(request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
    """The admin site's login view; a POST beyond the rate is a 429 and costs no password hash."""
    if request.method == "POST":
        throttle = AdminLoginThrottle()
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            wait = throttle.wait()
            response = HttpResponse("Too many sign-in attempts; retry later.\n", status=429, content_type="text/plain")
            response["Retry-After"] = str(max(1, int(wait or 1)))
            return response
    return admin.site.login(request, extra_context)
