import pytest
from rest_framework.test import APIClient

from accounts.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def plain_http_test_client(settings) -> None:  # type: ignore[no-untyped-def]
    """The test client speaks plain HTTP; the redirect to HTTPS is tested end to end, through Nginx."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)


@pytest.fixture
def tokens(api_client: APIClient, user: User) -> dict[str, str]:
    """A fresh access/refresh pair for `user`, obtained through the API."""
    response = api_client.post("/api/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def auth_client(api_client: APIClient, tokens: dict[str, str]) -> APIClient:
    """A client that sends alice's access token."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return api_client
