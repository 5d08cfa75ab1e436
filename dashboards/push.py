"""Install commitbench's PostgreSQL datasource and its dashboards into an existing Grafana
through Grafana's HTTP API (`commitbench dashboards push`), with the `grafana-client` package.

The steps, each a function here, so the command line stays thin:

1. `datasource_payload`: the datasource from provisioning/datasources/commitbench.yaml, with
   the `$VARS` Grafana would interpolate from its environment given as values instead.
2. `load_dashboards`: every dashboards/json/*.json (generated, with a stable `uid`).
3. `connect` + `Grafana.check`: `GET /api/health` must answer as a Grafana does.
4. `plan`: read what Grafana has (datasource and folder by uid, each dashboard by uid) and
   decide, per object, `create`, `update` or `unchanged`; before a datasource is written,
   check that Grafana has its plugin (a Grafana may store a datasource of a type it has no
   plugin for, and fail only when a panel queries it). Reads only.
5. `apply`: the writes, datasource first (the dashboards reference its uid), then the folder,
   then the dashboards, overwriting by uid with a version message naming commitbench's version.

What is compared, so that a second push writes nothing:
- The datasource: the fields commitbench sets (name, type, access, url, user) and the
  jsonData keys of the YAML. Other jsonData keys someone set in Grafana (the TLS settings
  `verify-full` needs, say) are kept on update, not compared; so are other secrets. Grafana never
  returns a stored password (only `secureJsonFields.password: true`), so the password is sent
  on create, on every update, and when Grafana has none; a changed password alone is only
  sent with `update_password` (`--update-password`).
- A dashboard: the stored JSON (`GET /api/dashboards/uid/...`) against the file, ignoring
  what Grafana adds on save (IGNORED_DASHBOARD_KEYS), and the folder it is in.

Deliberately not taken from the YAML: `isDefault` (a push into a team's Grafana must not take
over its default datasource; every panel names the uid), `orgId` (the token's organization)
and `editable` (only file provisioning can make a datasource read-only).

Errors are one of four PushError subclasses, which the command maps to exit codes. Their
messages never hold the token or the password: they are built from the URL, the name of the
variable the credential came from, the HTTP status and Grafana's own `message`.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import niquests.exceptions
import yaml
from grafana_client import GrafanaApi
from grafana_client.client import (GrafanaClientError, GrafanaException, GrafanaServerError,
                                   GrafanaTimeoutError)

HERE = Path(__file__).resolve().parent
DATASOURCE_YAML = HERE / "provisioning" / "datasources" / "commitbench.yaml"
DASHBOARDS_DIR = HERE / "json"
FOLDER_UID = "commitbench"
FOLDER_TITLE = "commitbench"

# What Grafana's PostgreSQL datasource accepts as jsonData.sslmode.
SSLMODES = ("disable", "require", "verify-ca", "verify-full")
# The datasource fields commitbench owns (compared and set); jsonData is compared key by key.
DATASOURCE_FIELDS = ("name", "type", "access", "url", "user")
# Fields of a stored datasource carried into the PUT that updates it: Grafana's update
# replaces the whole record, so what commitbench does not own is sent back as it was.
KEPT_ON_UPDATE = ("basicAuth", "basicAuthUser", "withCredentials", "isDefault", "database")
# Keys Grafana adds to or bumps in a dashboard's JSON when it saves one.
IGNORED_DASHBOARD_KEYS = frozenset({"id", "version", "iteration"})
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

CREATE, UPDATE, UNCHANGED, EXTRA = "create", "update", "unchanged", "extra"


class PushError(Exception):
    """A one-line reason the push stopped."""


class BadInput(PushError):
    """A missing or malformed value, file or credential; nothing was sent."""


class Unreachable(PushError):
    """Nothing answers at the URL, or what answers is not a Grafana."""


class AuthRefused(PushError):
    """Grafana refused the credential (401, or 403 for lack of permission)."""


class Refused(PushError):
    """Grafana refused (or failed) a request about one object."""


# ---------------------------------------------------------------- what is pushed


@dataclass(frozen=True)
class DatasourceValues:
    """What Grafana's provisioning would read from its environment."""

    address: str  # HOST:PORT of the PostgreSQL server, as Grafana reaches it
    database: str
    sslmode: str
    password: str = field(repr=False)

    def variables(self) -> dict[str, str]:
        return {"COMMITBENCH_PG_ADDRESS": self.address, "COMMITBENCH_PG_DATABASE": self.database,
                "COMMITBENCH_PG_SSLMODE": self.sslmode, "COMMITBENCH_READER_PASSWORD": self.password}


def check_address(address: str) -> str:
    """HOST:PORT (an IPv6 host in brackets); the reason it is not, or ''."""
    host, sep, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return "an IPv6 host goes in brackets, [::1]:5432"
    if not sep or not host or not port:
        return "it must be HOST:PORT, for example db.example.com:5432"
    if any(c.isspace() or c in "/@?#[]" for c in host):
        return "the host has a character a host name cannot have"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"the port must be a number from 1 to 65535, not {port!r}"
    return ""


def _interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Grafana's provisioning interpolation ($NAME, ${NAME}) with `variables` for its environment."""
    if isinstance(value, dict):
        return {k: _interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise BadInput(f"{DATASOURCE_YAML.name} uses ${name}, which `dashboards push` has no value for")
        return variables[name]

    return _VAR_RE.sub(sub, value)


def datasource_payload(values: DatasourceValues, source: Path = DATASOURCE_YAML) -> dict:
    """The body of `POST /api/datasources` for commitbench's datasource."""
    try:
        entries = yaml.safe_load(source.read_text())["datasources"]
        (entry,) = [e for e in entries if e.get("uid") == "commitbench-pg"]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
        raise BadInput(f"cannot read the datasource from {source}: {e}") from None
    entry = _interpolate(entry, values.variables())
    payload = {k: entry[k] for k in ("uid", *DATASOURCE_FIELDS)}
    payload["jsonData"] = dict(entry.get("jsonData") or {})
    payload["secureJsonData"] = dict(entry.get("secureJsonData") or {})
    payload["isDefault"] = False
    return payload


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> list[dict]:
    """Every *.json in `directory`, checked: an object with a title and a stable uid, each uid
    once. A numeric `id` or a `version` (a dashboard exported from some Grafana) is dropped:
    they name that Grafana's rows, not this one's."""
    if not directory.is_dir():
        raise BadInput(f"dashboards directory {directory} does not exist")
    out, seen = [], {}
    for path in sorted(directory.glob("*.json")):
        try:
            dash = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"cannot read {path}: {e}") from None
        except json.JSONDecodeError as e:
            raise BadInput(f"{path}: not JSON ({e})") from None
        if not isinstance(dash, dict):
            raise BadInput(f"{path}: a dashboard must be a JSON object")
        uid = dash.get("uid")
        if not isinstance(uid, str) or not UID_RE.match(uid):
            raise BadInput(f"{path}: `uid` must be 1-40 letters, digits, '-' or '_', got {uid!r}")
        if not isinstance(dash.get("title"), str) or not dash["title"].strip():
            raise BadInput(f"{path}: the dashboard has no title")
        if uid in seen:
            raise BadInput(f"{path}: uid {uid!r} is also the uid of {seen[uid]}")
        seen[uid] = path
        out.append({k: v for k, v in dash.items() if k not in ("id", "version")})
    return out


# ---------------------------------------------------------------- Grafana


@dataclass(frozen=True)
class Target:
    """Where Grafana is and how to authenticate, never printed with the secret."""

    url: str  # shown in messages: scheme://host[:port]/prefix, without credentials
    auth: str | tuple[str, str] = field(repr=False)
    who: str  # "the token in $GRAFANA_TOKEN": what a refusal message names
    timeout: float = 10.0


def parse_url(url: str) -> tuple[str, str, int | None, str]:
    """(scheme, host, port, path prefix ending in '/' or '') of a Grafana URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise BadInput(f"--grafana-url {url!r} is not a URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"--grafana-url must be http(s)://HOST[:PORT][/PATH], got {parts.scheme or 'no'} scheme"
                       + ("" if parts.hostname else " and no host"))
    if parts.username or parts.password:
        raise BadInput("--grafana-url must not hold credentials: set GRAFANA_TOKEN "
                       "(or GRAFANA_USER and GRAFANA_PASSWORD) instead")
    if parts.query or parts.fragment:
        raise BadInput("--grafana-url takes no query or fragment")
    prefix = parts.path.strip("/")
    return parts.scheme, parts.hostname, port, prefix + "/" if prefix else ""


def display_url(url: str) -> str:
    scheme, host, port, prefix = parse_url(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}{f':{port}' if port else ''}/{prefix}".rstrip("/")


def connect(url: str, auth: str | tuple[str, str], who: str, timeout: float = 10.0) -> Grafana:
    scheme, host, port, prefix = parse_url(url)
    api = GrafanaApi(auth=auth, host=f"[{host}]" if ":" in host else host, port=port,
                     url_path_prefix=prefix, protocol=scheme, timeout=timeout)
    return Grafana(api, Target(display_url(url), auth, who, timeout))


def _response_message(response: Any) -> str:
    """Grafana's `message`, or a short word for a body that is not Grafana's JSON."""
    if isinstance(response, dict):
        text = str(response.get("message") or response.get("error") or json.dumps(response)[:200])
    elif isinstance(response, str) and response.lstrip()[:1] == "<":
        return "an HTML page"
    else:
        text = str(response or "").strip()
    line = text.splitlines()[0] if text else "no message"
    return line if len(line) <= 300 else line[:300] + "..."


def _network_reason(e: BaseException) -> str:
    """What went wrong under a niquests exception, in a few words."""
    seen, c = [], e
    while c is not None and len(seen) < 20:
        seen.append(c)
        c = c.__cause__ or c.__context__
    for c in seen:
        if isinstance(c, socket.gaierror):
            return "cannot resolve the host name"
        if isinstance(c, ConnectionRefusedError):
            return "connection refused (nothing listening there)"
        if isinstance(c, ssl.SSLError | niquests.exceptions.SSLError):
            text = str(seen[-1]).strip().splitlines()
            return f"TLS failed ({text[0][:200] if text else type(seen[-1]).__name__})"
        if isinstance(c, TimeoutError | socket.timeout):
            return "timed out"
    inner = seen[-1]
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0][:200]}" if text else type(inner).__name__


class Grafana:
    """A GrafanaApi with every call's failure turned into a PushError naming what failed."""

    def __init__(self, api: GrafanaApi, target: Target) -> None:
        self.api = api
        self.target = target
        self.version = ""

    def call(self, what: str, fn: Callable[..., Any], *args: Any, absent: tuple[int, ...] = ()) -> Any:
        """fn(*args); None when Grafana answers with a status in `absent` (404: not there)."""
        url, who = self.target.url, self.target.who
        try:
            return fn(*args)
        except GrafanaTimeoutError:
            raise Unreachable(f"Grafana at {url} did not answer within {self.target.timeout:g} s "
                              f"(trying to {what})") from None
        except GrafanaClientError as e:
            if e.status_code in absent:
                return None
            message = _response_message(e.response)
            if e.status_code in (401, 403):
                raise AuthRefused(f"Grafana at {url} refused {who} ({e.status_code}: {message}) "
                                  f"trying to {what}") from None
            raise Refused(f"Grafana at {url} refused to {what} ({e.status_code}): {message}") from None
        except GrafanaServerError as e:
            raise Refused(f"Grafana at {url} failed to {what} ({e.status_code}): "
                          f"{_response_message(e.response)}") from None
        except GrafanaException as e:  # grafana-client's wrapper of a transport error
            raise Unreachable(f"cannot reach Grafana at {url}: {_network_reason(e)}") from None
        except niquests.exceptions.JSONDecodeError:
            raise Unreachable(f"{url} is not a Grafana: it answered {what} with something not JSON") from None
        except niquests.exceptions.RequestException as e:
            raise Unreachable(f"cannot reach Grafana at {url}: {_network_reason(e)}") from None

    def read(self, what: str, fn: Callable[..., Any], *args: Any, kind: type = dict) -> Any:
        """A read that may be absent (404 -> None) and must be JSON of `kind`."""
        answer = self.call(what, fn, *args, absent=(404,))
        if answer is not None and not isinstance(answer, kind):
            raise Unreachable(f"{self.target.url} answered a request to {what} with "
                              f"{_response_message(answer) if isinstance(answer, str) else type(answer).__name__}, "
                              "not Grafana's JSON (a proxy's login page?)")
        return answer

    def check(self) -> str:
        """Grafana's version, from `GET /api/health` (which Grafana serves without a login)."""
        url = self.target.url

        def health() -> Any:
            try:
                return self.api.client.GET("/health")
            except (GrafanaClientError, GrafanaServerError) as e:  # a 404 page, a 502 from a proxy
                raise Unreachable(f"{url} is not a Grafana: it answers /api/health with {e.status_code} "
                                  f"({_response_message(e.response)}); check --grafana-url") from None

        answer = self.call("read /api/health", health)
        if not isinstance(answer, dict) or "database" not in answer:
            raise Unreachable(f"{url} is not a Grafana: its /api/health is not Grafana's; check --grafana-url")
        if answer["database"] != "ok":
            raise Unreachable(f"Grafana at {url} is unhealthy: its database is {answer['database']!r}")
        self.version = str(answer.get("version") or "?")
        return self.version


# ---------------------------------------------------------------- the plan


@dataclass
class Step:
    kind: str  # "datasource", "folder", "dashboard"
    uid: str
    title: str
    action: str  # CREATE, UPDATE, UNCHANGED, EXTRA (in the folder, not in the files: left alone)
    changed: tuple[str, ...] = ()
    payload: dict | None = field(default=None, repr=False)  # holds the password: never printed

    def describe(self, dry_run: bool = False) -> str:
        name = f"{self.kind} {self.uid}" + (f" ({self.title})" if self.title and self.title != self.uid else "")
        if self.action == EXTRA:
            return f"{name}: in folder {FOLDER_UID} but not among the files, left as it is"
        if self.action == UNCHANGED:
            return f"{name}: unchanged"
        verb = {CREATE: "created", UPDATE: "updated"}[self.action]
        verb = f"would be {verb}" if dry_run else verb
        return f"{name}: {verb}" + (f" ({', '.join(self.changed)})" if self.changed else "")


def diff_datasource(wanted: dict, stored: dict | None, update_password: bool = False) -> Step:
    """Create if absent, update if a field or jsonData key commitbench sets differs (or the
    password is missing or asked for), else unchanged."""
    uid, title = wanted["uid"], wanted["name"]
    if stored is None:
        return Step("datasource", uid, title, CREATE, payload=wanted)
    changed = [f for f in DATASOURCE_FIELDS if stored.get(f) != wanted[f]]
    stored_json = stored.get("jsonData") or {}
    changed += [f"jsonData.{k}" for k, v in wanted["jsonData"].items() if stored_json.get(k) != v]
    secure = stored.get("secureJsonFields") or {}
    changed += [k if secure.get(k) else f"{k} not stored" for k in wanted["secureJsonData"]
                if not secure.get(k) or update_password]
    if not changed:
        return Step("datasource", uid, title, UNCHANGED)
    body = {k: stored[k] for k in KEPT_ON_UPDATE if k in stored}
    body.update({k: v for k, v in wanted.items() if k not in ("jsonData", "isDefault")})
    body["jsonData"] = {**stored_json, **wanted["jsonData"]}
    if "version" in stored:
        body["version"] = stored["version"]  # Grafana refuses (409) if someone saved in between
    return Step("datasource", uid, title, UPDATE, tuple(changed), payload=body)


def _comparable(dashboard: dict) -> dict:
    return {k: v for k, v in dashboard.items() if k not in IGNORED_DASHBOARD_KEYS}


def diff_dashboard(wanted: dict, stored: dict | None, message: str) -> Step:
    """`stored` is Grafana's `GET /api/dashboards/uid/...` answer ({"dashboard", "meta"})."""
    uid, title = wanted["uid"], wanted["title"]
    payload = {"dashboard": wanted, "folderUid": FOLDER_UID, "overwrite": True, "message": message}
    if stored is None:
        return Step("dashboard", uid, title, CREATE, payload=payload)
    have, want = _comparable(stored.get("dashboard") or {}), _comparable(wanted)
    changed = sorted(k for k in have.keys() | want.keys() if have.get(k, ...) != want.get(k, ...))
    if len(changed) > 6:
        changed = [*changed[:5], f"{len(changed) - 5} more"]
    if (stored.get("meta") or {}).get("folderUid") != FOLDER_UID:
        changed.append(f"moved into folder {FOLDER_UID}")
    if not changed:
        return Step("dashboard", uid, title, UNCHANGED)
    return Step("dashboard", uid, title, UPDATE, tuple(changed), payload=payload)


def _has_plugin(plugins: Any, plugin_type: str) -> bool:
    return any(isinstance(p, dict) and (p.get("id") == plugin_type or plugin_type in (p.get("aliasIDs") or []))
               for p in plugins)


def plan(grafana: Grafana, datasource: dict, dashboards: list[dict], message: str,
         update_password: bool = False) -> list[Step]:
    """What a push would do, from reads only."""
    api, url = grafana.api, grafana.target.url
    uid = datasource["uid"]
    stored = grafana.read(f"read datasource {uid}", api.datasource.get_datasource_by_uid, uid)
    step = diff_datasource(datasource, stored, update_password)
    if step.action == UPDATE and stored.get("readOnly"):
        raise Refused(f"datasource {uid} is read-only in Grafana at {url} (provisioned from a file) and "
                      f"differs ({', '.join(step.changed)}): change it where it is provisioned")
    if step.action != UNCHANGED:
        # A Grafana may store a datasource of a type it has no plugin for and fail only when a
        # panel queries it: look first. A token that may not list plugins skips the check.
        plugins = grafana.call("list plugins", api.plugin.list, absent=(403, 404))
        if isinstance(plugins, list) and not _has_plugin(plugins, datasource["type"]):
            raise Refused(f"Grafana {grafana.version or '?'} at {url} has no {datasource['type']} plugin, "
                          f"which datasource {uid} needs (Grafanas too old for that id call PostgreSQL's `postgres`)")
    steps = [step]

    folder = grafana.read(f"read folder {FOLDER_UID}", api.folder.get_folder, FOLDER_UID)
    steps.append(Step("folder", FOLDER_UID, FOLDER_TITLE, UNCHANGED if folder else CREATE))

    for dash in dashboards:
        have = grafana.read(f"read dashboard {dash['uid']}", api.dashboard.get_dashboard, dash["uid"])
        steps.append(diff_dashboard(dash, have, message))

    if folder:
        ours = {d["uid"] for d in dashboards}
        hits = grafana.read(f"search folder {FOLDER_UID}",
                            lambda: api.search.search_dashboards(type_="dash-db", folder_uids=FOLDER_UID),
                            kind=list) or []
        for hit in hits:
            if isinstance(hit, dict) and hit.get("folderUid") == FOLDER_UID and hit.get("uid") not in ours:
                steps.append(Step("dashboard", str(hit.get("uid")), str(hit.get("title") or ""), EXTRA))
    return steps


def apply(grafana: Grafana, steps: list[Step]) -> Iterator[Step]:
    """Make the changes of `steps` in order; yield each step once it is done (or unchanged)."""
    api = grafana.api
    for step in steps:
        name = f"{step.kind} {step.uid}"
        if step.action == CREATE and step.kind == "datasource":
            grafana.call(f"create {name}", api.datasource.create_datasource, step.payload)
        elif step.action == UPDATE and step.kind == "datasource":
            grafana.call(f"update {name}", api.datasource.update_datasource_by_uid, step.uid, step.payload)
        elif step.action == CREATE and step.kind == "folder":
            grafana.call(f"create {name}", api.folder.create_folder, FOLDER_TITLE, FOLDER_UID)
        elif step.action in (CREATE, UPDATE) and step.kind == "dashboard":
            grafana.call(f"save {name}", api.dashboard.update_dashboard, step.payload)
        yield step
