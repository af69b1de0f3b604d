# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""A loopback Hugging Face Hub for the publishing tests: huggingface_hub's real client pushes to it and pulls from it.

It speaks the endpoints that `HfApi.create_repo`, `create_commit` / `upload_folder` (preupload, LFS batch + basic
transfer + verify, NDJSON commit), `ModelCard.load`, `hf_hub_download` (HEAD/GET on `resolve`), `repo_info` and
`snapshot_download` (tree listing) use in huggingface_hub 2.4, with the headers they read (`X-Repo-Commit`, `ETag`,
`Content-Length`, `X-Error-Code`). State lives in memory: repos, their commits (full snapshots) and an LFS object
store. It listens on 127.0.0.1 on an ephemeral port, serves each request on a thread, and shuts itself down after
`max_lifetime` seconds if nobody stopped it.

Selecting it: huggingface_hub reads `HF_ENDPOINT` (and `HF_HUB_OFFLINE`, `HF_HUB_DISABLE_XET`) once, when
`huggingface_hub.constants` is imported. A subprocess gets them as environment variables before it imports anything;
inside an already running test process, [`client_endpoint`] patches the constants (and transformers' cached `HfApi`)
for the duration of a `with` block.

Only what the tests need is implemented; any other request gets a 404 and is recorded in `unknown_requests`, which the
tests assert is empty, so that a client change that calls a new endpoint shows up as a clear failure.
"""

import base64
import contextlib
import fnmatch
import hashlib
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml


USER = "cmt-tester"
# The Hub's default .gitattributes routes these to LFS (the beginning of its list); so does any file over 10 MB.
LFS_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.msgpack", "*.onnx", "*.npy", "*.zip")
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in LFS_PATTERNS).encode()


def git_blob_sha1(content: bytes) -> str:
    """git's object id of a blob, the `oid` / `ETag` the Hub gives a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class StoredFile:
    content: bytes
    lfs: bool

    @property
    def oid(self) -> str:
        """The Hub's file id: the sha256 of an LFS file, the git blob sha1 of a regular one."""
        return hashlib.sha256(self.content).hexdigest() if self.lfs else git_blob_sha1(self.content)


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, StoredFile]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        return self.commits.get(revision)


class HubError(Exception):
    def __init__(self, status: int, message: str, error_code: str | None = None, **payload):
        super().__init__(message)
        self.status, self.message, self.error_code, self.payload = status, message, error_code, payload


# /api/models/{namespace}/{name}/{action}/{revision}[/{path}]
REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES = [
    ("POST", r"/api/repos/create", "create_repo"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("GET", r"/api/agent-harnesses", "agent_harnesses"),
    ("GET", rf"/api/models/{REPO}", "model_info"),
    ("GET", rf"/api/models/{REPO}/revision/(?P<revision>[^/]+)", "model_info"),
    ("GET", rf"/api/models/{REPO}/tree/(?P<revision>[^/]+)(?:/(?P<path>.*))?", "list_tree"),
    ("POST", rf"/api/models/{REPO}/preupload/(?P<revision>[^/]+)", "preupload"),
    ("POST", rf"/api/models/{REPO}/commit/(?P<revision>[^/]+)", "commit"),
    ("POST", rf"/{REPO}\.git/info/lfs/objects/batch", "lfs_batch"),
    ("PUT", r"/lfs-objects/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
    ("POST", r"/lfs-objects/(?P<oid>[0-9a-f]{64})/verify", "lfs_verify"),
    ("HEAD", rf"/{REPO}/resolve/(?P<revision>[^/]+)/(?P<path>.+)", "resolve"),
    ("GET", rf"/{REPO}/resolve/(?P<revision>[^/]+)/(?P<path>.+)", "resolve"),
]


class LoopbackHub:
    """
    An in-memory Hub on 127.0.0.1. Use as a context manager (or `start()` / `stop()`); `url` is the endpoint.

    Args:
        token (`str`): the bearer token write requests must carry (reads are anonymous, as for public repos).
        max_lifetime (`float`): seconds after which the server stops by itself.
    """

    def __init__(self, token: str = "hf_loopback_token", max_lifetime: float = 300.0):
        self.token = token
        self.max_lifetime = max_lifetime
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.unknown_requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LoopbackHub":
        hub = self

        class Handler(_HubRequestHandler):
            server_hub = hub

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self):
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LoopbackHub":
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- state helpers for the tests ----------------------------------------------------------------------------

    def files(self, repo_id: str, revision: str = "main") -> dict[str, StoredFile]:
        """The files of `repo_id` at `revision`."""
        return self.repos[repo_id].resolve(revision).files

    def commit_messages(self, repo_id: str) -> list[str]:
        return [commit.message for commit in self.repos[repo_id].commits.values()]

    # --- endpoint implementations (called with the lock held) ------------------------------------------------------

    def _repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return self.repos[repo_id]

    def _revision(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Revision {unquote(revision)} not found in {repo.repo_id}", "RevisionNotFound")
        return commit

    def _new_commit(self, repo: Repo, branch: str, message: str, files: dict[str, StoredFile]) -> Commit:
        digest = hashlib.sha1(repr((repo.branches.get(branch), message, time.time_ns())).encode())
        for path in sorted(files):
            digest.update(path.encode() + files[path].oid.encode())
        commit = Commit(oid=digest.hexdigest(), message=message, files=files)
        repo.commits[commit.oid] = commit
        repo.branches[branch] = commit.oid
        return commit

    def create_repo(self, request: "_HubRequestHandler", body: dict) -> tuple[int, dict]:
        request.require_token()
        if body.get("type", "model") != "model":
            raise HubError(400, f"Only model repos are served here, got type {body.get('type')!r}.")
        repo_id = f"{body.get('organization') or USER}/{body['name']}"
        if repo_id in self.repos:
            # the client reads the url from the conflict's body too (`create_repo(..., exist_ok=True)`)
            raise HubError(409, "You already created this model repo", url=f"{self.url}/{repo_id}")
        repo = Repo(repo_id=repo_id, private=body.get("visibility") == "private")
        self.repos[repo_id] = repo
        self._new_commit(repo, "main", "initial commit", {".gitattributes": StoredFile(GITATTRIBUTES, lfs=False)})
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id}

    def validate_yaml(self, request: "_HubRequestHandler", body: dict) -> tuple[int, dict]:
        content = body.get("content", "")
        match = re.match(r"^---\s*\n(.*?)\n---\s*\n", content, flags=re.DOTALL)
        if match is None:
            return 200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]}
        try:
            metadata = yaml.safe_load(match.group(1))
        except yaml.YAMLError as error:
            return 400, {"errors": [{"message": f"Invalid YAML: {error}"}]}
        if not isinstance(metadata, dict):
            return 400, {"errors": [{"message": "The YAML metadata must be a mapping"}]}
        return 200, {"errors": [], "warnings": []}

    def agent_harnesses(self, request: "_HubRequestHandler") -> tuple[int, dict]:
        # huggingface_hub fetches this registry to name AI agents in its user agent; an empty one names none
        return 200, {"standardEnvVars": [], "harnesses": {}}

    def model_info(self, request: "_HubRequestHandler", repo: str, revision: str = "main") -> tuple[int, dict]:
        stored = self._repo(repo)
        commit = self._revision(stored, revision)
        return 200, {
            "id": repo,
            "modelId": repo,
            "author": repo.split("/")[0],
            "sha": commit.oid,
            "private": stored.private,
            "disabled": False,
            "gated": False,
            "tags": [],
            "siblings": [{"rfilename": path} for path in sorted(commit.files)],
        }

    def list_tree(self, request: "_HubRequestHandler", repo: str, revision: str, path: str | None = None):
        commit = self._revision(self._repo(repo), revision)
        prefix = unquote(path).strip("/") + "/" if path else ""
        recursive = request.query.get("recursive", ["false"])[0].lower() == "true"
        entries, folders = [], set()
        for file_path in sorted(commit.files):
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix) :]
            if "/" in rest:
                parts = rest.split("/")
                depth = len(parts) - 1 if recursive else 1
                for level in range(1, depth + 1):
                    folders.add(prefix + "/".join(parts[:level]))
                if not recursive:
                    continue
            stored = commit.files[file_path]
            entry = {
                "type": "file",
                "path": file_path,
                "size": len(stored.content),
                "oid": git_blob_sha1(stored.content),
            }
            if stored.lfs:
                entry["lfs"] = {"oid": stored.oid, "size": len(stored.content), "pointerSize": 134}
            entries.append(entry)
        entries += [{"type": "directory", "path": folder, "oid": git_blob_sha1(folder.encode())} for folder in folders]
        if prefix and not entries:
            raise HubError(404, f"{path} does not exist in {repo}", "EntryNotFound")
        return 200, sorted(entries, key=lambda entry: entry["path"])

    def preupload(self, request: "_HubRequestHandler", body: dict, repo: str, revision: str) -> tuple[int, dict]:
        request.require_token()
        commit = self._revision(self._repo(repo), revision)
        files = []
        for item in body["files"]:
            path = item["path"]
            lfs = item["size"] > LFS_SIZE_THRESHOLD or any(
                fnmatch.fnmatch(path.split("/")[-1], p) for p in LFS_PATTERNS
            )
            existing = commit.files.get(path)
            files.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": existing.oid if existing is not None and existing.lfs == lfs else None,
                }
            )
        return 200, {"files": files, "commitOid": commit.oid}

    def lfs_batch(self, request: "_HubRequestHandler", body: dict, repo: str) -> tuple[int, dict]:
        request.require_token()
        self._repo(repo)
        if body.get("operation") != "upload":
            raise HubError(400, f"Only LFS uploads are served here, got operation {body.get('operation')!r}.")
        if "basic" not in body.get("transfers", ["basic"]):
            raise HubError(400, "The client does not accept the basic LFS transfer.")
        objects = []
        for item in body["objects"]:
            entry = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in self.lfs_objects:
                href = f"{self.url}/lfs-objects/{item['oid']}"
                entry["actions"] = {"upload": {"href": href}, "verify": {"href": f"{href}/verify"}}
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_upload(self, request: "_HubRequestHandler", oid: str) -> tuple[int, dict]:
        content = request.read_body()
        if hashlib.sha256(content).hexdigest() != oid:
            raise HubError(400, f"The uploaded content does not hash to {oid}.")
        self.lfs_objects[oid] = content
        return 200, {}

    def lfs_verify(self, request: "_HubRequestHandler", body: dict, oid: str) -> tuple[int, dict]:
        request.require_token()
        if oid not in self.lfs_objects or len(self.lfs_objects[oid]) != body.get("size"):
            raise HubError(404, f"LFS object {oid} was not uploaded (or has another size).")
        return 200, {}

    def commit(self, request: "_HubRequestHandler", lines: list[dict], repo: str, revision: str) -> tuple[int, dict]:
        request.require_token()
        if request.query.get("create_pr"):
            raise HubError(400, "This loopback Hub does not implement pull requests.")
        stored = self._repo(repo)
        branch = unquote(revision)
        if branch not in stored.branches:
            raise HubError(404, f"Branch {branch} not found in {repo}", "RevisionNotFound")
        parent = stored.resolve(branch)
        header = lines[0] if lines and lines[0].get("key") == "header" else None
        if header is None:
            raise HubError(400, "The commit payload must start with a header line.")
        parent_commit = header["value"].get("parentCommit")
        if parent_commit is not None and parent_commit != parent.oid:
            raise HubError(412, f"The branch moved: parent {parent_commit} is not the head {parent.oid}.")
        files = dict(parent.files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"Unsupported encoding {value.get('encoding')!r} for {value['path']}.")
                files[value["path"]] = StoredFile(base64.b64decode(value["content"]), lfs=False)
            elif key == "lfsFile":
                if value["oid"] not in self.lfs_objects:
                    raise HubError(422, f"LFS object {value['oid']} of {value['path']} was never uploaded.")
                files[value["path"]] = StoredFile(self.lfs_objects[value["oid"]], lfs=True)
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                files = {path: stored_file for path, stored_file in files.items() if not path.startswith(folder)}
            else:
                raise HubError(400, f"Unknown commit operation {key!r}.")
        commit = self._new_commit(stored, branch, header["value"]["summary"], files)
        return 200, {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{self.url}/{repo}/commit/{commit.oid}",
            "pullRequestUrl": None,
        }

    def resolve(self, request: "_HubRequestHandler", repo: str, revision: str, path: str):
        commit = self._revision(self._repo(repo), revision)
        path = unquote(path)
        if path not in commit.files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        stored = commit.files[path]
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{stored.oid}"', "Content-Type": "application/octet-stream"}
        if stored.lfs:
            headers.update({"X-Linked-Etag": f'"{stored.oid}"', "X-Linked-Size": str(len(stored.content))})
        return 200, stored.content, headers


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a client dropping a keep-alive connection is normal; anything else is printed as usual
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class _HubRequestHandler(BaseHTTPRequestHandler):
    server_hub: LoopbackHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def require_token(self):
        if self.headers.get("Authorization") != f"Bearer {self.server_hub.token}":
            raise HubError(401, "Invalid credentials in Authorization header")

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self, method: str):
        parsed = urlsplit(self.path)
        self.query = parse_qs(parsed.query)
        hub = self.server_hub
        for route_method, pattern, name in ROUTES:
            match = re.fullmatch(pattern, parsed.path)
            if route_method != method or match is None:
                continue
            arguments = {key: value for key, value in match.groupdict().items() if value is not None}
            try:
                body_arguments = []
                if method == "POST":
                    raw = self.read_body()
                    if name == "commit":
                        body_arguments = [[json.loads(line) for line in raw.decode().splitlines() if line.strip()]]
                    else:
                        body_arguments = [json.loads(raw or b"{}")]
                with hub._lock:
                    hub.requests.append((method, parsed.path))
                    result = getattr(hub, name)(self, *body_arguments, **arguments)
            except HubError as error:
                body = {"error": error.message, **error.payload}
                self._send(
                    error.status, body, head=method == "HEAD", error_code=error.error_code, message=error.message
                )
                return
            self._send(*result, head=method == "HEAD")
            return
        if method in ("POST", "PUT"):
            self.read_body()
        with hub._lock:
            hub.unknown_requests.append((method, self.path))
        self._send(404, {"error": f"loopback hub: no endpoint {method} {parsed.path}"}, head=method == "HEAD")

    def _send(
        self,
        status: int,
        payload,
        headers: dict[str, str] | None = None,
        head: bool = False,
        error_code: str | None = None,
        message: str | None = None,
    ):
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if error_code is not None:
            self.send_header("X-Error-Code", error_code)
        if message is not None:
            self.send_header("X-Error-Message", message)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")


@contextlib.contextmanager
def client_endpoint(url: str) -> Iterator[None]:
    """
    Points huggingface_hub's client (and transformers' cached `HfApi`) of *this* process at `url` for the duration of
    the block, online and without hf-xet, then restores everything.

    huggingface_hub 2.4 reads `HF_ENDPOINT`, `HF_HUB_OFFLINE` and `HF_HUB_DISABLE_XET` into `huggingface_hub.constants`
    when first imported, and each call reads those constants (`HfApi()` copies `ENDPOINT` when built), so patching the
    constants is what setting the variables before import would have done.
    """
    from huggingface_hub import constants
    from transformers.utils import hub as transformers_hub

    scratch = tempfile.TemporaryDirectory()
    patched = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_XET": True,
        # the client caches the endpoint's agent registry under HF_HOME: keep it out of the user's home
        "AGENT_HARNESSES_PATH": f"{scratch.name}/agent_harnesses.json",
    }
    saved = {name: getattr(constants, name) for name in patched}
    saved_api = transformers_hub._hf_api
    try:
        for name, value in patched.items():
            setattr(constants, name, value)
        transformers_hub._hf_api = None  # rebuilt from the patched ENDPOINT on first use
        yield
    finally:
        for name, value in saved.items():
            setattr(constants, name, value)
        transformers_hub._hf_api = saved_api
        scratch.cleanup()
