"""Passwords are hashed with Argon2id at OWASP's parameters; old PBKDF2 hashes still work and upgrade."""

from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from accounts.models import User


def test_new_passwords_are_argon2id_at_owasps_parameters(user: User) -> None:
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_pbkdf2_hash_still_signs_in_and_is_upgraded_to_argon2id(api_client: APIClient, user: User) -> None:
    user.password = make_password("an older passphrase", hasher="pbkdf2_sha256")
    user.save()

    response = api_client.post("/api/token/", {"username": "alice", "password": "an older passphrase"}, format="json")

    user.refresh_from_db()
    assert response.status_code == 200
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("an older passphrase")
