"""Where a request will really go, judged the way the code that sends it will see it.

Production is anything that is not a loopback address: only ``localhost``, 127.0.0.0/8 and ``::1`` are local
(not ``*.localhost``: those names go to DNS). Two judges:

- ``judge_endpoint(url)``: an AWS endpoint URL as urllib3 (which sends botocore's requests) will parse it. A URL
  that two parsers could read differently — a backslash, user info (``user@``), characters that NFKC folds into
  others (``＠``), control characters, whitespace — is never local, whatever host it seems to name.
- ``libpq_hosts(params, env)``: every host libpq will try for a conninfo (URL or ``key=value``), with libpq's own
  defaults applied in libpq's order: the conninfo, then the service file (``service=`` or ``PGSERVICE``, found in
  ``PGSERVICEFILE`` or ``~/.pg_service.conf``, then ``PGSYSCONFDIR/pg_service.conf``), then ``PGHOST``,
  ``PGHOSTADDR``, ``PGPORT``. ``hostaddr`` wins over ``host``; an empty host is the default Unix socket.

Nothing here reads the process environment: it arrives as a mapping handed over by Settings.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` — the only hosts that count as local."""
    if not host:
        return False
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- AWS endpoints -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str | None  # the host urllib3 connects to (None when the URL cannot be read unambiguously)
    problem: str | None = None  # why the URL is ambiguous; such a URL is never local

    @property
    def local(self) -> bool:
        return self.problem is None and is_loopback_host(self.host)

    def why_not_local(self) -> str:
        if self.problem:
            return f"it is ambiguous ({self.problem})"
        return "it is not a local endpoint"


def _host_key(host: str | None) -> str | None:
    if host is None:
        return None
    host = host.lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def judge_endpoint(url: str) -> Endpoint:
    """The endpoint as urllib3 will send to it; ``problem`` says why two parsers could disagree on its host."""
    from urllib.parse import urlsplit

    from urllib3.util import parse_url

    if any(ord(c) > 127 for c in url):
        folded = unicodedata.normalize("NFKC", url)
        odd = next((c for c, f in zip(url, folded, strict=False) if c != f), None) if folded != url else None
        sample = odd or next(c for c in url if ord(c) > 127)
        return Endpoint(url, None, f"non-ASCII character {sample!r} (U+{ord(sample):04X}) in the URL")
    if "\\" in url:
        return Endpoint(url, None, "a backslash in the URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return Endpoint(url, None, "whitespace or a control character in the URL")
    try:
        split = urlsplit(url)
        split_host, split_port = split.hostname, split.port
    except ValueError as exc:
        return Endpoint(url, None, f"unreadable URL: {exc}")
    try:
        parsed = parse_url(url)
    except Exception as exc:  # urllib3.exceptions.LocationParseError
        return Endpoint(url, None, f"unreadable URL: {exc}")
    if split.scheme.lower() not in ("http", "https"):
        return Endpoint(url, parsed.host, "the scheme is not http or https")
    if "@" in split.netloc or parsed.auth is not None:
        return Endpoint(url, parsed.host, "user info before an '@'; an endpoint has none")
    if _host_key(parsed.host) != _host_key(split_host) or parsed.port != split_port:
        return Endpoint(url, parsed.host, f"urllib3 reads host {parsed.host!r}, urlsplit {split_host!r}")
    if not parsed.host:
        return Endpoint(url, None, "no host")
    return Endpoint(url, parsed.host)


def endpoint_host_is_local(url: str | None) -> bool:
    """True only when urllib3 will send to a loopback host and no parser could read the URL otherwise."""
    return url is not None and judge_endpoint(url).local


# --- PostgreSQL (libpq) ------------------------------------------------------------------------------------
ENV_DEFAULTS = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT"}


@dataclass(frozen=True)
class PgHost:
    """One host libpq will try: ``address`` is what it connects to (hostaddr, else host; '' = default socket)."""

    address: str
    port: str | None
    source: str  # where the value came from: the URL, PGHOST, PGHOSTADDR, service 'x' (file), default
    known: bool = True  # False when a named service could not be found, so the host cannot be told

    @property
    def socket(self) -> bool:
        return self.known and (self.address == "" or self.address.startswith(("/", "@")))

    @property
    def local(self) -> bool:
        return self.known and (self.socket or is_loopback_host(self.address))

    def describe(self) -> str:
        if not self.known:
            return f"the host of {self.source}"
        name = self.address or "local socket"
        return name if self.source in ("URL", "") else f"{name} (from {self.source})"


@dataclass(frozen=True)
class Resolved:
    """The host/hostaddr/port libpq will use, each with where it came from."""

    values: dict  # key -> (value, source)
    hosts: list[PgHost]

    def explicit(self) -> dict[str, str]:
        """host, hostaddr and port as explicit conninfo values, so libpq cannot pick others from its environment."""
        return {k: self.values[k][0] if k in self.values else "" for k in ("host", "hostaddr", "port")}


def _service_files(env: Mapping[str, str]) -> list[Path]:
    files = []
    if env.get("PGSERVICEFILE"):
        files.append(Path(env["PGSERVICEFILE"]))
    elif env.get("HOME"):
        files.append(Path(env["HOME"]) / ".pg_service.conf")
    if env.get("PGSYSCONFDIR"):
        files.append(Path(env["PGSYSCONFDIR"]) / "pg_service.conf")
    return files


def read_service(name: str, env: Mapping[str, str]) -> tuple[dict[str, str], Path] | None:
    """The parameters of service ``name`` from the first service file that defines it, as libpq looks."""
    for path in _service_files(env):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        params: dict[str, str]
        current, found, params = None, False, {}
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                if found:
                    break
                current = line[1:-1].strip()
                found = current == name
                continue
            if found and "=" in line:
                key, _, value = line.partition("=")
                params.setdefault(key.strip(), value.strip())
        if found:
            return params, path
    return None


def _split(value: str | None) -> list[str]:
    return value.split(",") if value else []


def libpq_hosts(params: Mapping[str, str], env: Mapping[str, str], source: str = "URL") -> Resolved:
    """Every host libpq will try for ``params`` (``conninfo_to_dict`` of the URL or DSN) in ``env``."""
    values = {k: (v, source) for k, v in params.items() if k in ENV_DEFAULTS}
    service = params.get("service") or env.get("PGSERVICE") or None
    if service is not None:
        found = read_service(service, env)
        if found is None:
            label = f"service '{service}'" + ("" if params.get("service") else " (PGSERVICE)")
            return Resolved(values, [PgHost("", None, f"{label}, which is not in "
                                             f"{', '.join(str(p) for p in _service_files(env)) or 'any service file'}",
                                             known=False)])
        service_params, path = found
        for key in ENV_DEFAULTS:
            if key not in values and key in service_params:
                values[key] = (service_params[key], f"service '{service}' in {path}")
    for key, var in ENV_DEFAULTS.items():
        if key not in values and env.get(var) is not None:
            values[key] = (env[var], var)
    hosts, hostaddrs = _split(values.get("host", ("", ""))[0]), _split(values.get("hostaddr", ("", ""))[0])
    ports = _split(values.get("port", ("", ""))[0])
    count = max(len(hosts), len(hostaddrs), 1)
    out = []
    for i in range(count):
        addr = hostaddrs[i] if i < len(hostaddrs) else ""
        host = hosts[i] if i < len(hosts) else ""
        port = ports[i] if i < len(ports) else (ports[0] if len(ports) == 1 else None)
        if addr:
            out.append(PgHost(addr, port, values["hostaddr"][1]))
        elif host:
            out.append(PgHost(host, port, values["host"][1]))
        else:
            out.append(PgHost("", port, "default"))
    return Resolved(values, out)


# --- the endpoint the SDK will use ------------------------------------------------------------------------
def configured_endpoint(service: str, *, profile: str | None, region: str | None, env: Mapping[str, str]) -> str | None:
    """The ``endpoint_url`` the AWS config file sets for ``service`` (the profile's, or its ``services``
    section's), as botocore resolves it: found by building a client (no request is sent) and reading
    ``client.meta.endpoint_url``; None when the file sets none for this service.
    """
    config_file = env.get("AWS_CONFIG_FILE") or (str(Path(env["HOME"]) / ".aws" / "config") if env.get("HOME") else None)
    if not config_file:
        return None
    try:
        text = Path(config_file).expanduser().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if "endpoint_url" not in text:  # the common case: no boto import at all
        return None
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    session.set_config_variable("config_file", str(Path(config_file).expanduser()))
    if profile:
        session.set_config_variable("profile", profile)
    region = region or session.get_config_variable("region") or "us-east-1"
    probe = {"region_name": region, "aws_access_key_id": "probe", "aws_secret_access_key": "probe"}
    configured = session.create_client(service, **probe).meta.endpoint_url
    default = session.create_client(service, config=Config(ignore_configured_endpoint_urls=True), **probe).meta.endpoint_url
    return configured if configured != default else None
