from django.urls import path
from django.views.decorators.cache import never_cache
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from accounts.views import MeView, PasswordChangeView, RegisterView

# never_cache: token and account responses carry secrets; no browser or proxy may keep them.
urlpatterns = [
    path("token/", never_cache(TokenObtainPairView.as_view()), name="token_obtain_pair"),
    path("token/refresh/", never_cache(TokenRefreshView.as_view()), name="token_refresh"),
    path("token/verify/", never_cache(TokenVerifyView.as_view()), name="token_verify"),
    path("token/blacklist/", never_cache(TokenBlacklistView.as_view()), name="token_blacklist"),
    path("auth/register/", never_cache(RegisterView.as_view()), name="register"),
    path("auth/password/", never_cache(PasswordChangeView.as_view()), name="password_change"),
    path("me/", never_cache(MeView.as_view()), name="me"),
]
