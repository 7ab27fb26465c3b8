"""cruddur_ops/targets.py: where a request really goes. Hosts are `.invalid` names (RFC 6761: they never resolve)."""

from __future__ import annotations

import pytest

from cruddur_ops.targets import configured_endpoint, judge_endpoint, libpq_hosts, read_service


@pytest.mark.parametrize("url,host", [
    ("http://127.0.0.1:8000", "127.0.0.1"),
    ("http://127.8.9.10:8000", "127.8.9.10"),
    ("http://localhost:8000", "localhost"),
    ("http://LOCALHOST:8000/", "localhost"),
    ("https://[::1]:8443", "[::1]"),
])
def test_loopback_endpoints_are_local(url, host):
    endpoint = judge_endpoint(url)
    assert endpoint.local and endpoint.problem is None and endpoint.host == host


@pytest.mark.parametrize("url", [
    "http://dynamodb.example.invalid:8000",
    "http://db.localhost:8000",          # *.localhost goes to DNS: not local
    "http://localhost.example.invalid",
    "http://10.0.0.5:8000",
    "http://127.1:8000",                 # a shorthand some resolvers expand; not a plain loopback address
    "http://[::ffff:127.0.0.1]:8000",
    "https://dynamodb.us-east-1.aws.invalid",
])
def test_other_hosts_are_production(url):
    endpoint = judge_endpoint(url)
    assert endpoint.local is False and endpoint.problem is None


@pytest.mark.parametrize("url,problem", [
    ("http://PROD\\@127.0.0.1:8000", "backslash"),               # urllib3 sends to PROD, urlsplit reads 127.0.0.1
    ("http://prod.example.invalid\\@127.0.0.1:8000", "backslash"),
    ("http://127.0.0.1:8000\\@prod.example.invalid", "backslash"),
    ("http://prod.example.invalid@127.0.0.1:8000", "user info"),
    ("http://user:pw@127.0.0.1:8000", "user info"),
    ("http://prod.example.invalid\uff20127.0.0.1:8000", "U+FF20"),  # FULLWIDTH COMMERCIAL AT: NFKC folds it to @
    ("http://127.0.0.1\uff0eprod.example.invalid:8000", "U+FF0E"),
    ("http://ｌｏｃａｌｈｏｓｔ:8000", "non-ASCII"),
    ("http://127.0.0.1 :8000", "whitespace"),
    ("http://127.0.0.1:8000\t", "whitespace"),
    ("ftp://127.0.0.1:8000", "scheme"),
    ("http://[::1:8000", "unreadable"),
    ("http://127.0.0.1:99999", "unreadable"),
])
def test_ambiguous_endpoints_are_never_local_and_never_raise(url, problem):
    endpoint = judge_endpoint(url)
    assert endpoint.local is False
    assert endpoint.problem and problem in endpoint.problem


# --- libpq ------------------------------------------------------------------------------------------------------
def _hosts(url: str, env: dict) -> list[tuple[str, bool]]:
    from psycopg.conninfo import conninfo_to_dict

    return [(h.address, h.local) for h in libpq_hosts(conninfo_to_dict(url), env).hosts]


@pytest.mark.parametrize("url,env,expected", [
    ("postgresql:///cruddur", {}, [("", True)]),  # the default Unix socket
    ("postgresql:///cruddur", {"PGHOST": "prod-db.example.invalid"}, [("prod-db.example.invalid", False)]),
    ("postgresql:///cruddur", {"PGHOST": "/var/run/postgresql"}, [("/var/run/postgresql", True)]),
    ("postgresql:///cruddur", {"PGHOSTADDR": "192.0.2.10"}, [("192.0.2.10", False)]),
    ("postgresql://127.0.0.1/cruddur", {"PGHOSTADDR": "192.0.2.10"}, [("192.0.2.10", False)]),  # hostaddr wins
    ("postgresql://prod-db.example.invalid/cruddur?hostaddr=127.0.0.1", {}, [("127.0.0.1", True)]),
    ("postgresql://127.0.0.1/cruddur", {"PGHOST": "prod-db.example.invalid"}, [("127.0.0.1", True)]),  # URL wins
    ("postgresql:///cruddur?host=prod-db.example.invalid", {}, [("prod-db.example.invalid", False)]),
    ("host=prod-db.example.invalid dbname=cruddur", {}, [("prod-db.example.invalid", False)]),
    ("dbname=cruddur", {"PGHOST": "prod-db.example.invalid"}, [("prod-db.example.invalid", False)]),
    ("postgresql://127.0.0.1,prod-db.example.invalid/cruddur", {},
     [("127.0.0.1", True), ("prod-db.example.invalid", False)]),
    ("postgresql:///cruddur", {"PGHOST": "localhost,prod-db.example.invalid"},
     [("localhost", True), ("prod-db.example.invalid", False)]),
    ("postgresql:///cruddur", {"PGHOST": "db.localhost"}, [("db.localhost", False)]),
])
def test_libpq_hosts_apply_libpqs_defaults(url, env, expected):
    assert _hosts(url, env) == expected


def test_a_service_file_names_the_host(tmp_path):
    services = tmp_path / "pg_service.conf"
    services.write_text("# services\n[local]\nhost=127.0.0.1\n\n[prod]\nhost = prod-db.example.invalid\nport=6432\n")
    env = {"PGSERVICEFILE": str(services)}
    assert read_service("prod", env)[0] == {"host": "prod-db.example.invalid", "port": "6432"}
    assert _hosts("postgresql:///cruddur?service=prod", env) == [("prod-db.example.invalid", False)]
    assert _hosts("service=prod dbname=cruddur", env) == [("prod-db.example.invalid", False)]
    assert _hosts("postgresql:///cruddur", {**env, "PGSERVICE": "prod"}) == [("prod-db.example.invalid", False)]
    assert _hosts("postgresql:///cruddur", {**env, "PGSERVICE": "local"}) == [("127.0.0.1", True)]
    # the URL's own host wins over the service's, and the service over PGHOST
    assert _hosts("postgresql://127.0.0.1/cruddur?service=prod", env) == [("127.0.0.1", True)]
    assert _hosts("postgresql:///cruddur?service=prod", {**env, "PGHOST": "127.0.0.1"}) == [
        ("prod-db.example.invalid", False)]
    # found through HOME and PGSYSCONFDIR too
    (tmp_path / ".pg_service.conf").write_text(services.read_text())
    assert _hosts("postgresql:///cruddur?service=prod", {"HOME": str(tmp_path)}) == [("prod-db.example.invalid", False)]
    assert _hosts("postgresql:///cruddur?service=prod", {"PGSYSCONFDIR": str(tmp_path)}) == [
        ("prod-db.example.invalid", False)]


def test_an_unknown_service_cannot_be_judged_so_it_is_not_local(tmp_path):
    from psycopg.conninfo import conninfo_to_dict

    hosts = libpq_hosts(conninfo_to_dict("postgresql:///cruddur?service=nowhere"), {"HOME": str(tmp_path)}).hosts
    assert [h.local for h in hosts] == [False] and "service 'nowhere'" in hosts[0].describe()


# --- the AWS config file ------------------------------------------------------------------------------------------
def test_configured_endpoint_reads_the_profile_and_its_services_section(tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = us-east-1\nendpoint_url = http://everything.example.invalid\n\n"
        "[profile svc]\nregion = us-east-1\nservices = prodsvc\n\n"
        "[services prodsvc]\ndynamodb =\n  endpoint_url = http://ddb.example.invalid:8000\n\n"
        "[profile plain]\nregion = us-east-1\n")
    env = {"AWS_CONFIG_FILE": str(config), "HOME": str(tmp_path)}
    assert configured_endpoint("dynamodb", profile=None, region=None, env=env) == "http://everything.example.invalid"
    assert configured_endpoint("dynamodb", profile="svc", region=None, env=env) == "http://ddb.example.invalid:8000"
    assert configured_endpoint("ec2", profile="svc", region=None, env=env) is None
    assert configured_endpoint("dynamodb", profile="plain", region=None, env=env) is None
