from django.urls import path
from django.views.decorators.cache import never_cache
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from accounts.views import MeView, PasswordChangeView, RegisterView
from core.throttling import AuthRateThrottle

# SimpleJWT's views as shipped, with a throttle. never_cache: these responses carry secrets,
# so no browser or proxy may keep them.
throttled = {"throttle_classes": [AuthRateThrottle]}
urlpatterns = [
    path("token/", never_cache(TokenObtainPairView.as_view(**throttled)), name="token_obtain_pair"),
    path("token/refresh/", never_cache(TokenRefreshView.as_view(**throttled)), name="token_refresh"),
    path("token/verify/", never_cache(TokenVerifyView.as_view(**throttled)), name="token_verify"),
    path("token/blacklist/", never_cache(TokenBlacklistView.as_view(**throttled)), name="token_blacklist"),
    path("auth/register/", never_cache(RegisterView.as_view(**throttled)), name="register"),
    path("auth/password/", never_cache(PasswordChangeView.as_view(**throttled)), name="password_change"),
    path("me/", never_cache(MeView.as_view()), name="me"),
]
