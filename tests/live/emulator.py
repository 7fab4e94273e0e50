"""A Kubernetes API emulator on 127.0.0.1 for the live-cluster tests (no kube-apiserver runs here).

The back end is kmock's ``KubernetesEmulator`` (a real HTTP server holding objects in memory, with
create, merge-patch, delete, fetch, list and watch). In front of it runs a small aiohttp server that
adds what kmock 0.8 lacks and a real API server has (see the README's "Live clusters"):

* bearer-token authentication (401 with a ``Status`` body for a wrong or missing token);
* RBAC-style refusals: ``forbid={("list", "pods")}`` answers 403 with the API server's wording;
* paging: ``limit`` and ``continue`` on every list (kmock ignores both), and the list's ``kind``
  (``PodList``) with items that carry no ``kind``/``apiVersion``, as the API server returns them;
* ``labelSelector`` with ``=``/``==``/``!=`` and bare keys on lists;
* Namespaces, which kmock 0.8 cannot list or fetch (its path parser takes ``namespaces`` for a
  namespace prefix): the front keeps them itself;
* discovery that answers 404 for the ``policy.networking.k8s.io`` group unless ``crds=True``.

Every request is recorded (``requests``), so a test can check that a read-only command wrote
nothing. The whole thing runs in one background thread and stops by itself with the test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import kmock

from podwall.sources.cluster import RESOURCES, Resource

TOKEN = "podwall-test-token"


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]


@dataclass
class ApiEmulator:
    """kmock behind a front with auth, RBAC refusals, paging and Namespaces."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    crds: bool = False
    forbid: set[tuple[str, str]] = field(default_factory=set)
    """(verb, plural) pairs answered with 403, e.g. ``("list", "pods")``."""
    max_page: int | None = None
    """Cap every page at this many items whatever ``limit`` asks (to force paging in tests)."""
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    backend_url: str = ""

    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None
    _namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> ApiEmulator:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._main(ready))
            except BaseException as exc:  # pragma: no cover - surfaced below
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="api-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("API emulator did not start")
        if failure:
            raise RuntimeError(f"API emulator failed: {failure[0]!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _resources(self) -> Iterator[Resource]:
        for r in RESOURCES:
            if r.kind == "Namespace":
                continue
            if r.optional and not self.crds:
                continue
            yield r

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        k = kmock.KubernetesEmulator()
        async with k:
            for r in self._resources():
                gv = f"{r.group}/{r.version}" if r.group else r.version
                k.resources[f"{gv}/{r.plural}"] = kmock.ResourceInfo(
                    kind=r.kind, namespaced=r.namespaced, verbs={"get", "list", "watch", "create", "patch", "delete"}
                )
            for r in self._resources():
                k.resources[f"{r.api_version}/{r.plural}"].subresources.add("status")
            k.resources["v1/pods"].subresources.add("ephemeralcontainers")
            for obj in self.objects:
                self._store(k, obj)
            async with kmock.Server(k) as backend:
                self.backend_url = str(backend.url).rstrip("/")
                app = aiohttp.web.Application(client_max_size=64 * 1024 * 1024)
                app.router.add_route("*", "/{tail:.*}", self._front)
                runner = aiohttp.web.AppRunner(app, access_log=None)
                await runner.setup()
                site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                self.url = f"http://127.0.0.1:{port}"
                self._session = aiohttp.ClientSession()
                ready.set()
                await self._stop.wait()
                await self._session.close()
                await runner.cleanup()

    def _store(self, k: kmock.KubernetesEmulator, obj: dict[str, Any]) -> None:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        if kind == "Namespace":
            self._namespaces[meta["name"]] = obj
            return
        for r in self._resources():
            if r.kind == kind:
                ns = meta.get("namespace", "default") if r.namespaced else None
                if r.namespaced:
                    obj = {**obj, "metadata": {**meta, "namespace": ns}}
                    self._namespaces.setdefault(ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                k.objects[kmock.resource(r.group, r.version, r.plural), ns, meta["name"]] = obj
                return
        raise ValueError(f"emulator: no resource for kind {kind!r}")

    # -- the front ------------------------------------------------------------------------
    async def _front(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        path = request.path
        query = dict(request.query)
        self.requests.append(Recorded(request.method, path, query))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return aiohttp.web.json_response(status_body(401, "Unauthorized", "Unauthorized"), status=401)
        res, namespace, name, _sub = self._parse(path)
        verb = self._verb(request.method, name, query)
        if res is not None and (verb, res.plural) in self.forbid:
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            msg = (
                f"{res.plural}{'.' + res.group if res.group else ''} is forbidden: "
                'User "system:serviceaccount:ci:podwall" '
                f'cannot {verb} resource "{res.plural}" in API group "{res.group}" {where}'
            )
            return aiohttp.web.json_response(status_body(403, "Forbidden", msg), status=403)
        if res is not None and res.kind == "Namespace":
            return await self._namespaces_route(request, name)
        if path.startswith("/apis/policy.networking.k8s.io") and not self.crds:
            return aiohttp.web.json_response(
                status_body(404, "NotFound", "the server could not find the requested resource"), status=404
            )
        if res is not None and verb == "list":
            return await self._list(request, res, namespace, query)
        return await self._proxy(request)

    @staticmethod
    def _parse(path: str) -> tuple[Resource | None, str | None, str | None, str | None]:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2:
            return None, None, None, None
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None, None, None, None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        elif len(rest) in (1, 2) and rest[0] == "namespaces" and group == "":
            rest = ["namespaces", *rest[1:]]
        if not rest:
            return None, None, None, None
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        for r in RESOURCES:
            if r.group == group and r.version == version and r.plural == plural:
                return r, namespace, name, sub
        return None, namespace, name, sub

    @staticmethod
    def _verb(method: str, name: str | None, query: dict[str, str]) -> str:
        if method == "GET":
            if name is None:
                return "watch" if query.get("watch") in ("1", "true") else "list"
            return "get"
        return {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method, method.lower())

    async def _namespaces_route(self, request: aiohttp.web.Request, name: str | None) -> aiohttp.web.StreamResponse:
        if request.method == "GET" and name is None:
            items = [self._strip(ns) for _, ns in sorted(self._namespaces.items())]
            return aiohttp.web.json_response(
                {"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "1"}, "items": items}
            )
        if request.method == "GET":
            if name in self._namespaces:
                return aiohttp.web.json_response(self._namespaces[name])
            return aiohttp.web.json_response(status_body(404, "NotFound", f'namespaces "{name}" not found'), status=404)
        if request.method == "POST":
            body = await request.json()
            nm = body["metadata"]["name"]
            if nm in self._namespaces:
                return aiohttp.web.json_response(
                    status_body(409, "AlreadyExists", f'namespaces "{nm}" already exists'), status=409
                )
            body.setdefault("kind", "Namespace")
            body.setdefault("apiVersion", "v1")
            self._namespaces[nm] = body
            return aiohttp.web.json_response(body, status=201)
        if request.method == "DELETE" and name is not None:
            if name not in self._namespaces:
                return aiohttp.web.json_response(
                    status_body(404, "NotFound", f'namespaces "{name}" not found'), status=404
                )
            gone = self._namespaces.pop(name)
            await self._delete_namespace_contents(name)
            return aiohttp.web.json_response(gone)
        return aiohttp.web.json_response(status_body(405, "MethodNotAllowed", "not allowed"), status=405)

    async def _delete_namespace_contents(self, namespace: str) -> None:
        for r in self._resources():
            if not r.namespaced:
                continue
            async with self._session.get(f"{self.backend_url}{r.path(namespace)}") as resp:
                if resp.status != 200:
                    continue
                data = await resp.json(content_type=None)
            for item in data.get("items") or []:
                nm = (item.get("metadata") or {}).get("name")
                async with self._session.delete(f"{self.backend_url}{r.path(namespace)}/{nm}"):
                    pass

    @staticmethod
    def _strip(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}

    @staticmethod
    def _selects(selector: str, labels: dict[str, str]) -> bool:
        for term in filter(None, (t.strip() for t in selector.split(","))):
            if "!=" in term:
                k, v = term.split("!=", 1)
                if labels.get(k.strip()) == v.strip():
                    return False
            elif "=" in term:
                k, v = term.replace("==", "=").split("=", 1)
                if labels.get(k.strip()) != v.strip():
                    return False
            elif term.startswith("!"):
                if term[1:] in labels:
                    return False
            elif term not in labels:
                return False
        return True

    async def _list(
        self, request: aiohttp.web.Request, res: Resource, namespace: str | None, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        async with self._session.get(f"{self.backend_url}{request.path}") as resp:
            if resp.status != 200:
                return aiohttp.web.Response(status=resp.status, body=await resp.read(), content_type="application/json")
            data = await resp.json(content_type=None)
        items = [i for i in data.get("items") or [] if isinstance(i, dict)]
        if namespace is not None:
            items = [i for i in items if (i.get("metadata") or {}).get("namespace") == namespace]
        if "labelSelector" in query:
            items = [
                i for i in items if self._selects(query["labelSelector"], (i.get("metadata") or {}).get("labels") or {})
            ]
        items.sort(
            key=lambda i: (
                (i.get("metadata") or {}).get("namespace") or "",
                (i.get("metadata") or {}).get("name") or "",
            )
        )
        start = int(base64.b64decode(query["continue"]).decode()) if query.get("continue") else 0
        limit = int(query["limit"]) if query.get("limit") else len(items) or 1
        if self.max_page is not None:
            limit = min(limit, self.max_page)
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": "1"}
        if start + limit < len(items):
            meta["continue"] = base64.b64encode(str(start + limit).encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        return aiohttp.web.json_response(
            {
                "apiVersion": res.api_version,
                "kind": f"{res.kind}List",
                "metadata": meta,
                "items": [self._strip(i) for i in page],
            }
        )

    async def _proxy(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
        async with self._session.request(
            request.method, f"{self.backend_url}{request.path_qs}", data=body or None, headers=headers
        ) as resp:
            return aiohttp.web.Response(status=resp.status, body=await resp.read(), content_type="application/json")

    # -- helpers for tests ---------------------------------------------------------------
    def kubeconfig(
        self, path: Path, *, context: str = "emulator", token: str = TOKEN, server: str | None = None
    ) -> Path:
        """Write a kubeconfig for this emulator (one cluster, one user, one context) and return its path."""
        conf = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emu", "cluster": {"server": server or self.url}}],
            "users": [{"name": "tester", "user": {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": "emu", "user": "tester"}}],
            "current-context": context,
        }
        path.write_text(json.dumps(conf))
        return path

    def call(self, method: str, path: str, body: Any = None, *, backend: bool = False) -> tuple[int, Any]:
        """One request to the emulator (the front, or kmock itself with ``backend=True``)."""
        base = self.backend_url if backend else self.url
        data = json.dumps(body).encode() if body is not None else None
        ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
        req = urllib.request.Request(base + path, method=method, data=data, headers={"Content-Type": ctype})
        if not backend:
            req.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def writes(self) -> list[Recorded]:
        """Requests that would change the cluster."""
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]


@contextmanager
def emulator(objects: Iterable[dict[str, Any]], **kw: Any) -> Iterator[ApiEmulator]:
    with ApiEmulator(objects=list(objects), **kw) as emu:
        yield emu
