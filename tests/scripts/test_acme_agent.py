"""acme/agent.py's rules, without a CA: which names it accepts, how long it waits after failures,
and the one line it logs for each kind of failure certbot reports. (tests/e2e/test_acme.py runs
it against Pebble, end to end.)"""

import importlib.util

import pytest

from paths import ROOT

spec = importlib.util.spec_from_file_location("acme_agent", ROOT / "acme" / "agent.py")
assert spec and spec.loader
agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(agent)


def settings(**env: str):  # type: ignore[no-untyped-def]
    return agent.Settings({"ACME_DOMAINS": "api.example.com", **env})


def test_names_are_lower_cased_deduplicated_and_kept_in_order() -> None:
    assert agent.domains_from(" API.example.com, www.example.com.,api.example.com ,") == [
        "api.example.com",
        "www.example.com",
    ]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("*.example.com", "a wildcard needs the DNS-01 challenge"),
        ("203.0.113.7", "is an address"),
        ("[2001:db8::1]", "is an address"),
        ("localhost", "is not a DNS name"),
        ("api_v1.example.com", "is not a DNS name"),
        ("-api.example.com", "is not a DNS name"),
        ("api.example.com:8443", "is not a DNS name"),
    ],
)
def test_names_http01_cannot_prove_are_refused_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(agent.ConfigError, match=why):
        agent.domains_from(raw)


def test_settings_refuse_what_the_service_cannot_work_with() -> None:
    with pytest.raises(agent.ConfigError, match="ACME_DOMAINS is empty"):
        agent.Settings({"ACME_DOMAINS": " , "})
    with pytest.raises(agent.ConfigError, match="is not an email address"):
        settings(ACME_EMAIL="ops at example.com")
    with pytest.raises(agent.ConfigError, match="starts with https://"):
        settings(ACME_SERVER="http://acme.example.com/dir")
    with pytest.raises(agent.ConfigError, match="ACME_RETRY_INTERVAL='soon' is not a whole number"):
        settings(ACME_RETRY_INTERVAL="soon")


def test_lets_encrypt_production_is_the_default_server() -> None:
    assert settings().server == "https://acme-v02.api.letsencrypt.org/directory"


def test_another_server_or_other_names_get_a_certificate_of_their_own() -> None:
    base = settings().cert_name
    assert settings(ACME_DOMAINS="www.example.com, api.example.com").cert_name != base
    assert settings(ACME_SERVER="https://acme-staging-v02.api.letsencrypt.org/directory").cert_name != base
    assert settings(ACME_DOMAINS="API.example.com").cert_name == base


def test_failures_back_off_doubling_up_to_the_renew_interval() -> None:
    delays = [agent.backoff(n, 600, 43200) for n in range(1, 10)]

    assert delays == [600, 1200, 2400, 4800, 9600, 19200, 38400, 43200, 43200]
    assert agent.backoff(10_000, 600, 43200) == 43200


def test_the_command_asks_certbot_for_webroot_http01_with_the_names_and_no_prompt() -> None:
    command = agent.certbot_command(settings(ACME_DOMAINS="api.example.com,www.example.com"), force=False)

    assert command[1:3] == ["certonly", "--non-interactive"]
    assert ["--webroot-path", str(agent.WEBROOT)] == command[command.index("--webroot-path") :][:2]
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--domain"] == [
        "api.example.com",
        "www.example.com",
    ]
    assert "--register-unsafely-without-email" in command and "--force-renewal" not in command
    assert "--force-renewal" in agent.certbot_command(settings(ACME_EMAIL="ops@example.com"), force=True)


CERTBOT_VALIDATION_FAILURE = """\
Requesting a certificate for api.example.com

Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority reported these problems:
  Domain: api.example.com
  Type:   dns
  Detail: DNS problem: NXDOMAIN looking up A for api.example.com - check that a DNS record exists for this domain

Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.
Some challenges have failed.
Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile /tmp/acme/logs/letsencrypt.log or re-run Certbot with -v for more details.
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (CERTBOT_VALIDATION_FAILURE,
         "validation failed for api.example.com: the name does not resolve to this server (check its DNS A/AAAA "
         "records) [dns: DNS problem: NXDOMAIN looking up A for api.example.com"),
        (CERTBOT_VALIDATION_FAILURE.replace("Type:   dns", "Type:   connection").replace(
            "DNS problem: NXDOMAIN looking up A for api.example.com", "203.0.113.7: Fetching http://api.example.com/: Timeout"),
         "the CA could not reach port 80 here"),
        # certbot 5.8 against Pebble, as it is printed (a name Docker's DNS does not know).
        ("  Identifier: nowhere.acme.test\n  Type:   connection\n  Detail: Get \"http://nowhere.acme.test:80/.well-known/"
         "acme-challenge/x\": error occurred while resolving URL: \"lookup nowhere.acme.test on 127.0.0.11:53: no such host\"",
         "validation failed for nowhere.acme.test: the name does not resolve to this server"),
        (CERTBOT_VALIDATION_FAILURE.replace("Type:   dns", "Type:   unauthorized").replace("DNS problem: NXDOMAIN", "Invalid response: 404"),
         "port 80 answered, but without the challenge"),
        ("An unexpected error occurred:\nrequests.exceptions.ConnectionError: HTTPSConnectionPool(host='pebble', "
         "port=14000): Max retries exceeded with url: /dir (Caused by NameResolutionError(...))",
         "cannot reach the ACME server https://acme-v02.api.letsencrypt.org/directory: Max retries exceeded"),
        ("An unexpected error occurred:\nError creating new order :: too many certificates (5) already issued for "
         "this exact set of identifiers in the last 168h0m0s",
         "rate limited by the CA: too many certificates (5) already issued"),
        ("requests.exceptions.SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
         "is not trusted (ACME_CA_BUNDLE?)"),
        ("Saving debug log to /tmp/acme/logs/letsencrypt.log\nSomething new went wrong\nAsk for help or search",
         "Something new went wrong"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_that_says_why(output: str, expected: str) -> None:
    line = agent.reason(output, settings())

    assert expected in line
    assert "\n" not in line
