"""A stand-in for Grafana's HTTP API: a real HTTP server on 127.0.0.1, for testing
`commitbench dashboards push` where no Grafana can be installed.

What it is: the endpoints grafana-client calls for a push, answering with the response shapes
and status codes of Grafana's HTTP API reference, and keeping what it is sent in memory (so a
test can read it back):

  GET  /api/health                     no login; {"commit", "database", "version"}
  GET  /api/plugins                    the installed plugins (id, type, name, aliasIDs)
  GET  /api/datasources/uid/:uid       200 the datasource, 404 "Data source not found"
  POST /api/datasources                200 {"datasource", "id", "message", "name"};
                                       409 same uid or name; a configured refusal
  PUT  /api/datasources/uid/:uid       replaces the record; secureJsonData keys not sent are
                                       kept; 403 read-only; 409 on an older `version`
  GET  /api/folders/:uid               200 the folder, 404 "Folder not found"
  POST /api/folders                    200 the folder; 409 same uid or title
  GET  /api/search                     type, folderUIDs, dashboardUIDs, query filters
  POST /api/dashboards/db              {"id", "uid", "url", "status", "version", "slug"};
                                       412 name-exists / version-mismatch without overwrite
  GET  /api/dashboards/uid/:uid        {"dashboard", "meta"}, 404 "Dashboard not found"
  anything else under /api             404 {"message": "Not found"}

Every /api call but /api/health needs `Authorization: Bearer <token>` (or Basic for a
configured user): 401 {"message": "Invalid API key", ...} otherwise, as Grafana answers a bad
service account token. A `viewer_token` may read but gets 403 on every write, as a Viewer's
does. `refuse_types` makes POST/PUT of a datasource of that type fail with a chosen status and
message (standing in for whatever a given Grafana version says about a type it will not take).
`requests` records (method, path) of every request. `prefix` serves it under a path, as
Grafana's `root_url` with `serve_from_sub_path` behind a reverse proxy.

What it is not: Grafana. No persistence, organizations, permissions beyond the two tokens,
nested folders, dashboard schema migration, provisioning, version history API or plugin
loading; it does not validate dashboard or datasource JSON beyond what the reference says is
refused. A dashboard is stored as sent plus `id`, `uid` and `version`, which is what Grafana's
legacy API documents; a real Grafana (notably 12+, on unified storage) may add more, and
datasource messages differ between Grafana versions. So it shows the client's logic is right
against the documented API, not that a given Grafana answers exactly so.

Sources (Grafana's HTTP API reference):
  https://grafana.com/docs/grafana/latest/developers/http_api/data_source/
  https://grafana.com/docs/grafana/latest/developers/http_api/folder/
  https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
  https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/
  https://grafana.com/docs/grafana/latest/developers/http_api/other/  (health)
  https://grafana.com/docs/grafana/latest/developers/http_api/authentication/
and, for the 409 of a same name or uid and the 403 of a read-only datasource, Grafana's
pkg/api/datasources.go (AddDataSource, updateDataSourceByID).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

POSTGRES_PLUGIN = {"id": "grafana-postgresql-datasource", "type": "datasource", "name": "PostgreSQL",
                   "aliasIDs": ["postgres"]}
DEFAULT_PLUGINS = (POSTGRES_PLUGIN,
                   {"id": "prometheus", "type": "datasource", "name": "Prometheus", "aliasIDs": []},
                   {"id": "timeseries", "type": "panel", "name": "Time series"})


class Reply(Exception):
    def __init__(self, status: int, body) -> None:
        self.status, self.body = status, body


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class LoopbackServer:
    """A real HTTP server on a free 127.0.0.1 port, in a thread, for a `with` block."""

    prefix = ""
    _server: ThreadingHTTPServer | None = None

    def _serve(self, handler: type) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"


class JsonHandler(BaseHTTPRequestHandler):
    """A stand-in API's request handling: the JSON body in, `answer` (status, reply,
    headers) out; a str reply is sent as an HTML page. Subclasses bind the HTTP methods."""

    protocol_version = "HTTP/1.1"
    bad_json = "Problems parsing JSON"  # the message of a 400 for a body that is not JSON
    json_type = "application/json"

    def log_message(self, *args) -> None:  # quiet
        pass

    def answer(self, path: str, query: str, body) -> tuple[int, object, dict[str, str]]:
        raise NotImplementedError

    def serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            status, reply, headers = 400, {"message": self.bad_json}, {}
        else:
            status, reply, headers = self.answer(parts.path, parts.query, body)
        if isinstance(reply, str):
            data, ctype = reply.encode(), "text/html; charset=utf-8"
        else:
            data, ctype = json.dumps(reply).encode(), self.json_type
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class GrafanaStub(LoopbackServer):
    def __init__(self, token: str = "stub-token", viewer_token: str | None = None,
                 users: dict[str, str] | None = None, version: str = "11.3.0",
                 plugins=DEFAULT_PLUGINS, refuse_types: dict[str, tuple[int, str]] | None = None,
                 prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")  # served under a path, as behind a reverse proxy
        self.token, self.viewer_token, self.users = token, viewer_token, dict(users or {})
        self.version, self.plugins = version, [dict(p) for p in plugins]
        self.refuse_types = dict(refuse_types or {})
        self.datasources: dict[str, dict] = {}  # uid -> record (as Grafana returns it)
        self.secrets: dict[str, dict] = {}  # uid -> secureJsonData as sent (Grafana encrypts it)
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}  # uid -> {"dashboard", "folderUid", "messages"}
        self.requests: list[tuple[str, str]] = []
        self._ids = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ running

    def __enter__(self) -> GrafanaStub:
        self._serve(type("Handler", (_Handler,), {"stub": self}))
        return self

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    # ------------------------------------------------------------ the API

    def handle(self, method: str, path: str, query: dict, headers, body):
        with self._lock:
            self.requests.append((method, path))
            if self.prefix:
                if not path.startswith(self.prefix + "/"):
                    return 404, "<!doctype html><title>404 Not Found</title>"  # the proxy's page
                path = path[len(self.prefix):]
            if path == "/api/health" and method == "GET":
                return 200, {"commit": "stub", "database": "ok", "version": self.version}
            if not path.startswith("/api/"):
                return 404, "<!doctype html><title>Grafana</title>"  # the single-page app
            role = self._authenticate(headers.get("Authorization", ""))
            if role is None:
                return 401, {"extra": None, "message": "Invalid API key", "messageId": "api-key.invalid",
                             "statusCode": 401, "traceID": ""}
            if method != "GET" and role == "viewer":
                return 403, {"accessErrorId": "ACE0000000001", "message": "You'll need additional "
                             "permissions to perform this action.", "title": "Access denied"}
            for pattern, verb, fn in self._routes():
                m = re.fullmatch(pattern, path)
                if m and verb == method:
                    try:
                        return 200, fn(*m.groups(), query=query, body=body)
                    except Reply as r:
                        return r.status, r.body
            return 404, {"message": "Not found"}

    def _authenticate(self, header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer" and value == self.token:
            return "admin"
        if scheme == "Bearer" and self.viewer_token and value == self.viewer_token:
            return "viewer"
        if scheme == "Basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            if user in self.users and self.users[user] == password:
                return "admin"
        return None

    def _routes(self):
        return (
            (r"/api/plugins", "GET", self.list_plugins),
            (r"/api/datasources/uid/([^/]+)", "GET", self.get_datasource),
            (r"/api/datasources", "POST", self.add_datasource),
            (r"/api/datasources/uid/([^/]+)", "PUT", self.update_datasource),
            (r"/api/folders/([^/]+)", "GET", self.get_folder),
            (r"/api/folders", "POST", self.create_folder),
            (r"/api/search", "GET", self.search),
            (r"/api/dashboards/db", "POST", self.save_dashboard),
            (r"/api/dashboards/uid/([^/]+)", "GET", self.get_dashboard),
        )

    def list_plugins(self, query, body):
        kind = (query.get("type") or [None])[0]
        return [p for p in self.plugins if kind is None or p["type"] == kind]

    def get_datasource(self, uid, query, body):
        if uid not in self.datasources:
            raise Reply(404, {"message": "Data source not found"})
        return copy.deepcopy(self.datasources[uid])

    def _refuse(self, body):
        if not isinstance(body, dict) or not body.get("name") or not body.get("type"):
            raise Reply(400, {"message": "bad request data"})
        if body["type"] in self.refuse_types:
            status, message = self.refuse_types[body["type"]]
            raise Reply(status, {"message": message})

    def _record(self, body, ds_id, uid, version, read_only=False):
        secure = {**self.secrets.get(uid, {}), **(body.get("secureJsonData") or {})}
        self.secrets[uid] = secure
        return {"id": ds_id, "uid": uid, "orgId": 1, "name": body["name"], "type": body["type"],
                "typeLogoUrl": "", "access": body.get("access", "proxy"), "url": body.get("url", ""),
                "user": body.get("user", ""), "database": body.get("database", ""),
                "basicAuth": bool(body.get("basicAuth")), "basicAuthUser": body.get("basicAuthUser", ""),
                "withCredentials": bool(body.get("withCredentials")), "isDefault": bool(body.get("isDefault")),
                "jsonData": body.get("jsonData") or {}, "secureJsonFields": {k: True for k in secure},
                "version": version, "readOnly": read_only}

    def add_datasource(self, query, body):
        self._refuse(body)
        uid = body.get("uid") or f"ds{self._ids + 1}"
        if uid in self.datasources:
            raise Reply(409, {"message": "data source with the same uid already exists"})
        if any(d["name"] == body["name"] for d in self.datasources.values()):
            raise Reply(409, {"message": "data source with the same name already exists"})
        record = self._record(body, self._next_id(), uid, 1)
        self.datasources[uid] = record
        return {"datasource": copy.deepcopy(record), "id": record["id"], "message": "Datasource added",
                "name": record["name"]}

    def update_datasource(self, uid, query, body):
        self._refuse(body)
        stored = self.datasources.get(uid)
        if stored is None:
            raise Reply(404, {"message": "Data source not found"})
        if stored["readOnly"]:
            raise Reply(403, {"message": "Cannot update read-only data source"})
        version = int(body.get("version") or 0)
        if version and stored["version"] > version:
            raise Reply(409, {"message": "Datasource has already been updated by someone else. "
                                         "Please reload and try again"})
        if any(d["name"] == body["name"] and u != uid for u, d in self.datasources.items()):
            raise Reply(409, {"message": "Failed to update datasource: data source with the same name already exists"})
        record = self._record(body, stored["id"], uid, stored["version"] + 1)
        self.datasources[uid] = record
        return {"datasource": copy.deepcopy(record), "id": record["id"], "message": "Datasource updated",
                "name": record["name"]}

    def _folder_dto(self, folder):
        return {**folder, "url": f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}", "hasAcl": False,
                "canSave": True, "canEdit": True, "canAdmin": True, "createdBy": "admin",
                "created": "2024-01-01T00:00:00Z", "updatedBy": "admin", "updated": "2024-01-01T00:00:00Z"}

    def get_folder(self, uid, query, body):
        if uid not in self.folders:
            raise Reply(404, {"message": "Folder not found", "status": "not-found"})
        return self._folder_dto(self.folders[uid])

    def create_folder(self, query, body):
        if not isinstance(body, dict) or not str(body.get("title") or "").strip():
            raise Reply(400, {"message": "folder title cannot be empty"})
        uid = body.get("uid") or f"f{self._ids + 1}"
        if uid in self.folders:
            raise Reply(409, {"message": "a folder with the same uid already exists"})
        if any(f["title"] == body["title"] for f in self.folders.values()):
            raise Reply(409, {"message": "a folder with the same name already exists"})
        self.folders[uid] = {"id": self._next_id(), "uid": uid, "title": body["title"], "version": 1}
        return self._folder_dto(self.folders[uid])

    def search(self, query, body):
        kind = (query.get("type") or [None])[0]
        folder_uids = set(query.get("folderUIDs") or [])
        dash_uids = set(query.get("dashboardUIDs") or [])
        text = (query.get("query") or [""])[0].lower()
        hits = []
        if kind in (None, "dash-folder") and not folder_uids and not dash_uids:
            hits += [{"id": f["id"], "uid": f["uid"], "title": f["title"], "type": "dash-folder",
                      "url": self._folder_dto(f)["url"], "tags": [], "isStarred": False}
                     for f in self.folders.values() if text in f["title"].lower()]
        if kind in (None, "dash-db"):
            for uid, entry in self.dashboards.items():
                d, folder = entry["dashboard"], self.folders.get(entry["folderUid"] or "")
                if (folder_uids and entry["folderUid"] not in folder_uids) or (dash_uids and uid not in dash_uids):
                    continue
                if text not in d["title"].lower():
                    continue
                hit = {"id": d["id"], "uid": uid, "title": d["title"], "type": "dash-db",
                       "url": f"/d/{uid}/{slugify(d['title'])}", "tags": d.get("tags", []), "isStarred": False}
                if folder:
                    hit.update(folderId=folder["id"], folderUid=folder["uid"], folderTitle=folder["title"],
                               folderUrl=self._folder_dto(folder)["url"])
                hits.append(hit)
        return hits

    def save_dashboard(self, query, body):
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            raise Reply(400, {"message": "bad request data"})
        dash = copy.deepcopy(body["dashboard"])
        title = str(dash.get("title") or "").strip()
        if not title:
            raise Reply(400, {"message": "Dashboard title cannot be empty", "status": "empty-name"})
        folder_uid = body.get("folderUid") or ""
        if folder_uid and folder_uid not in self.folders:
            raise Reply(400, {"message": "folder not found", "status": "folder-not-found"})
        uid = dash.get("uid") or f"d{self._ids + 1}"
        existing = self.dashboards.get(uid)
        overwrite = bool(body.get("overwrite"))
        if dash.get("id") is not None and (existing is None or existing["dashboard"]["id"] != dash["id"]):
            raise Reply(404, {"message": "Dashboard not found", "status": "not-found"})
        if existing and not overwrite and dash.get("version") != existing["dashboard"]["version"]:
            raise Reply(412, {"message": "The dashboard has been changed by someone else",
                              "status": "version-mismatch"})
        same_title = [u for u, e in self.dashboards.items()
                      if u != uid and e["folderUid"] == folder_uid and e["dashboard"]["title"] == title]
        if same_title and not overwrite:
            raise Reply(412, {"message": "A dashboard with the same name in the folder already exists",
                              "status": "name-exists"})
        dash["uid"] = uid
        dash["id"] = existing["dashboard"]["id"] if existing else self._next_id()
        dash["version"] = existing["dashboard"]["version"] + 1 if existing else 1
        messages = (existing["messages"] if existing else []) + [body.get("message", "")]
        self.dashboards[uid] = {"dashboard": dash, "folderUid": folder_uid, "messages": messages}
        slug = slugify(title)
        return {"id": dash["id"], "uid": uid, "url": f"/d/{uid}/{slug}", "status": "success",
                "version": dash["version"], "slug": slug, "folderUid": folder_uid}

    def get_dashboard(self, uid, query, body):
        entry = self.dashboards.get(uid)
        if entry is None:
            raise Reply(404, {"message": "Dashboard not found"})
        d, folder = entry["dashboard"], self.folders.get(entry["folderUid"] or "")
        slug = slugify(d["title"])
        meta = {"type": "db", "canSave": True, "canEdit": True, "canAdmin": True, "canStar": True,
                "canDelete": True, "slug": slug, "url": f"/d/{uid}/{slug}", "expires": "0001-01-01T00:00:00Z",
                "created": "2024-01-01T00:00:00Z", "updated": "2024-01-01T00:00:00Z", "updatedBy": "admin",
                "createdBy": "admin", "version": d["version"], "hasAcl": False, "isFolder": False,
                "folderId": folder["id"] if folder else 0, "folderUid": folder["uid"] if folder else "",
                "folderTitle": folder["title"] if folder else "General",
                "folderUrl": self._folder_dto(folder)["url"] if folder else "", "provisioned": False,
                "provisionedExternalId": ""}
        return {"dashboard": copy.deepcopy(d), "meta": meta}


class _Handler(JsonHandler):
    stub: GrafanaStub
    bad_json = "bad request data"

    def answer(self, path: str, query: str, body):
        status, reply = self.stub.handle(self.command, path, parse_qs(query), self.headers, body)
        return status, reply, {}

    do_GET = do_POST = do_PUT = do_DELETE = JsonHandler.serve


class NotGrafana(LoopbackServer):
    """A plain HTTP server that is not a Grafana: http.server's file handler on an empty
    directory, which answers every path, /api/health included, with a 404 HTML page."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.requests = 0

    def __enter__(self) -> NotGrafana:
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=outer.directory, **kw)

            def log_message(self, *args):
                pass

            def send_head(self):
                outer.requests += 1
                return super().send_head()

        self._serve(Handler)
        return self
