import hashlib
from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # DRF's views import this module through DEFAULT_THROTTLE_CLASSES
    from rest_framework.views import APIView


class AuthRateThrottle(SimpleRateThrottle):
    """Per client address on the sign-in and account endpoints (rate: AUTH_THROTTLE_RATE)."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteRateThrottle(SimpleRateThrottle):
    """Per signed-in user on every write (POST, PUT, PATCH, DELETE) of the API (rate:
    WRITE_THROTTLE_RATE), so that one account cannot fill the database or probe at full speed.

    Reads are never counted (no cache query on GET). Anonymous writes are the sign-in and
    account endpoints, which AuthRateThrottle counts per address instead.
    """

    scope = "writes"

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if request.method in SAFE_METHODS or not (request.user and request.user.is_authenticated):
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AccountEmailThrottle(SimpleRateThrottle):
    """Per email address asked for, whoever asks (rate: ACCOUNT_EMAIL_THROTTLE_RATE): password
    reset and email change cannot flood one mailbox from many addresses. The same for an address
    with an account and one without, so a 429 tells nothing either. The address is kept only as
    a hash in the cache's key."""

    scope = "account_email"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        field = getattr(view, "throttle_address_field", "email")
        data = request.data
        value = data.get(field) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value.strip():
            return None  # nothing to count: the input is refused as invalid
        digest = hashlib.sha256(value.strip().casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
