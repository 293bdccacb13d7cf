"""The sign-in tests' OpenID provider: oidc-provider (tests/oidc_provider) run by Node on loopback."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

PROVIDER_DIR = Path(__file__).resolve().parent.parent / "oidc_provider"
CLIENT_ID = "llm-spend"
CLIENT_SECRET = "client-secret-for-tests"
PASSWORD = "directory-password"
START_SECONDS = 20
LOGIN_FORM = re.compile(r'<form method="post" action="(?P<action>/interaction/[^"]+/login)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signing_key() -> dict:
    """A fresh RSA key as a private JWK with a kid of its own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops")  # ["sign"] only: the provider verifies with it too (id_token_hint at sign-out)
    return {**jwk, "kid": secrets.token_hex(8), "alg": "RS256", "use": "sig"}


class IdentityProvider:
    """One provider process. `person()` adds or changes a user (read again at each login), `rotate_keys()`
    restarts it signing with a new key, `next_id_token()` bends the next ID token it hands out."""

    def __init__(self, workdir: Path, *, redirect_uris: list[str], post_logout_redirect_uris: list[str]):
        node = shutil.which("node")
        if node is None:
            pytest.fail("Node.js is needed for the sign-in tests' identity provider (Debian's nodejs).")
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
            pytest.fail(
                "The test identity provider is not installed: run `make test` or `npm ci --prefix tests/oidc_provider`."
            )
        self.node = node
        self.workdir = workdir
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [signing_key()]
        self.users: dict[str, dict] = {}
        self.clients = [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": post_logout_redirect_uris,
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ]
        self.process: subprocess.Popen | None = None
        self._write_users()

    @property
    def kid(self) -> str:
        return self.keys[0]["kid"]

    def person(self, username: str, *, groups: list[str], email_verified: bool = True, **claims) -> None:
        self.users[username] = {
            "sub": f"sub-{username}",
            "password": PASSWORD,
            "preferred_username": username,
            "email": f"{username}@corp.example",
            "email_verified": email_verified,
            "name": username.capitalize(),
            "groups": groups,
            **claims,
        }
        self._write_users()

    def _write_users(self) -> None:
        (self.workdir / "users.json").write_text(json.dumps(self.users))

    def start(self) -> None:
        config = self.workdir / "provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "keys": {"keys": self.keys},
                    "clients": self.clients,
                    "users_file": str(self.workdir / "users.json"),
                }
            )
        )
        log = (self.workdir / "provider.log").open("ab")
        self.process = subprocess.Popen(
            [self.node, "provider.mjs", str(config)], cwd=PROVIDER_DIR, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"The identity provider exited: {(self.workdir / 'provider.log').read_text()}")
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.1)
        pytest.fail(f"The identity provider did not start: {(self.workdir / 'provider.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def rotate_keys(self) -> None:
        """Sign with a new key from now on, publishing only it: a restart, as a provider's rollover ends."""
        self.keys = [signing_key()]
        self.stop()
        self.start()

    def next_id_token(self, *, mode: str, **claims) -> None:
        """`resign`: the next ID token gets these claims, signed by the provider's key; `tamper`: the same
        change, with the original signature kept."""
        requests.post(f"{self.issuer}/__test/id-token", json={"mode": mode, "claims": claims}, timeout=5)

    def log_in(self, authorize_url: str, *, username: str, password: str = PASSWORD, until: str) -> str:
        """Follow the authorization request through the provider's login form, as a browser would, and
        return the URL it sends the browser back to (the first one starting with `until`)."""
        browser = requests.Session()
        response = browser.get(authorize_url, allow_redirects=False, timeout=5)
        for _ in range(10):
            if response.is_redirect:
                url = urljoin(response.url, response.headers["Location"])
                if url.startswith(until):
                    return url
                response = browser.get(url, allow_redirects=False, timeout=5)
            elif response.status_code == 200 and (form := LOGIN_FORM.search(response.text)):
                response = browser.post(
                    urljoin(response.url, form["action"]),
                    data={"username": username, "password": password},
                    allow_redirects=False,
                    timeout=5,
                )
                if not response.is_redirect:
                    raise AssertionError(f"The provider refused {username}'s login: {response.text[:300]}")
            else:
                raise AssertionError(f"{response.url}: {response.status_code} {response.text[:500]}")
        raise AssertionError(f"The provider never sent the browser back to {until}")
