from django.urls import path
from django.views.decorators.cache import never_cache

from accounts.views import (
    EmailChangeConfirmView,
    EmailChangeView,
    MeView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetRequestView,
    RegisterView,
    TokenCheckView,
    TokenObtainView,
    TokenRefreshRotateView,
    TokenRevokeView,
)
from core.throttling import AuthRateThrottle

# SimpleJWT's views (accounts/views.py), with a throttle. never_cache: these responses carry secrets,
# so no browser or proxy may keep them.
throttled = {"throttle_classes": [AuthRateThrottle]}
urlpatterns = [
    path("token/", never_cache(TokenObtainView.as_view(**throttled)), name="token_obtain_pair"),
    path("token/refresh/", never_cache(TokenRefreshRotateView.as_view(**throttled)), name="token_refresh"),
    path("token/verify/", never_cache(TokenCheckView.as_view(**throttled)), name="token_verify"),
    path("token/blacklist/", never_cache(TokenRevokeView.as_view(**throttled)), name="token_blacklist"),
    path("auth/register/", never_cache(RegisterView.as_view(**throttled)), name="register"),
    path("auth/password/", never_cache(PasswordChangeView.as_view(**throttled)), name="password_change"),
    # Their own throttles (accounts/views.py): per client and per address.
    path("auth/password/reset/", never_cache(PasswordResetRequestView.as_view()), name="password_reset"),
    path(
        "auth/password/reset/confirm/",
        never_cache(PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path("auth/email/confirm/", never_cache(EmailChangeConfirmView.as_view()), name="email_change_confirm"),
    path("me/", never_cache(MeView.as_view()), name="me"),
    path("me/email/", never_cache(EmailChangeView.as_view()), name="email_change"),
]
