#!/usr/bin/env python3
"""supafleet: the worker agent. Takes commands signed by the master (HMAC-SHA256 with this
worker's key), each fresh (a nonce and a short expiry), from a fixed list, and runs each as one
fixed argv, never a shell. Listens on the worker's WireGuard address; answers the master alone.

    worker-agent.py [settings]      default /etc/supafleet/agent/agent.json

Python 3 standard library only: Debian's cloud images carry python3 for cloud-init.
"""

import base64
import binascii
import collections
import hashlib
import hmac
import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_SETTINGS = "/etc/supafleet/agent/agent.json"
DEFAULTS = {
    "port": 7081,
    "projectsDir": "/opt/supafleet/projects",
    "backupConfigDir": "/etc/supafleet/backup",
    "toolsDir": "/usr/local/lib/supafleet",
    "stateDir": "/var/lib/supafleet/agent",
}
MAX_BODY = 16 * 1024
MAX_LIFETIME = 60  # seconds a command may live, from issuedAt to expiresAt
MAX_CLOCK_SKEW = 30  # seconds a command may be issued ahead of this worker's clock
JOB_LINES = 50
JOBS_KEPT = 100
SYNC_TIMEOUT = 120  # seconds for the commands answered at once (status, logs)
RESTART_TIMEOUT = 300

NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
KEY = re.compile(r"^[0-9a-f]{64}$")
NONCE = re.compile(r"^[0-9a-f]{32}$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def fail(message):
    print(f"worker-agent: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"worker-agent: {message}", file=sys.stderr, flush=True)


# --- settings -------------------------------------------------------------------------------


def load_settings(path):
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as e:
        fail(f"cannot read the settings {path}: {e.strerror}")
    except ValueError as e:
        fail(f"the settings {path} are not JSON: {e}")
    if not isinstance(raw, dict):
        fail(f"the settings {path} are not a JSON object")
    s = {**DEFAULTS, "keyFile": os.path.join(os.path.dirname(os.path.abspath(path)), "key"), **raw}
    problems = []
    if not isinstance(s.get("worker"), str) or not NAME.fullmatch(s["worker"]):
        problems.append('"worker" must be a worker name such as w1')
    for field in ("address", "master"):
        try:
            ipaddress.IPv4Address(s.get(field))
        except (ValueError, TypeError):
            problems.append(f'"{field}" must be an IPv4 address')
    if not isinstance(s["port"], int) or isinstance(s["port"], bool) or not 0 < s["port"] < 65536:
        problems.append('"port" must be a TCP port number')
    for field in ("projectsDir", "backupConfigDir", "toolsDir", "stateDir", "keyFile"):
        if not isinstance(s[field], str) or not os.path.isabs(s[field]):
            problems.append(f'"{field}" must be an absolute path')
    unknown = sorted(set(raw) - set(DEFAULTS) - {"worker", "address", "master", "keyFile"})
    if unknown:
        problems.append(f"unknown settings: {', '.join(unknown)}")
    if problems:
        fail(f"{path}: " + "; ".join(problems))
    return s


def load_key(path):
    try:
        st = os.stat(path)
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read the key {path}: {getattr(e, 'strerror', None) or e}")
    if st.st_mode & 0o077:
        fail(f"the key {path} is readable by others (mode {st.st_mode & 0o777:04o}); it must be 0600")
    if not KEY.fullmatch(text):
        fail(f"the key {path} must be 64 lowercase hex characters (32 bytes)")
    return bytes.fromhex(text)


# --- the signed command ---------------------------------------------------------------------


class Refusal(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message
        self.command = None


def b64url_decode(text):
    if not B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_envelope(body):
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "the body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), str) or not envelope["payload"]:
        raise Refusal(400, 'the body is not a signed command: it needs "payload" and "signature"')
    if not B64URL.fullmatch(envelope["payload"]):
        raise Refusal(400, 'the body is not a signed command: "payload" must be base64url')
    signature = envelope.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise Refusal(400, 'the body is not a signed command: "signature" must be a string')
    return envelope["payload"], signature or ""


def verify_signature(key, payload, signature):
    if not signature:
        raise Refusal(401, "the command is not signed")
    # Compared as text, not as decoded bytes: base64 decoders ignore the last character's spare bits,
    # so another spelling of the same bytes would pass; only the one signed text does.
    digest = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=")
    if not hmac.compare_digest(expected, signature.encode("utf-8")):
        raise Refusal(401, "the signature is wrong")


def parse_payload(payload):
    try:
        command = json.loads(b64url_decode(payload))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Refusal(400, "the payload is not base64url JSON") from None
    if not isinstance(command, dict):
        raise Refusal(400, "the payload is not a JSON object")
    types = {"v": int, "worker": str, "command": str, "args": dict, "nonce": str, "issuedAt": int, "expiresAt": int}
    for field, kind in types.items():
        value = command.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise Refusal(400, f'the payload\'s "{field}" is missing or not a {kind.__name__}')
    if not NONCE.fullmatch(command["nonce"]):
        raise Refusal(400, "the payload's nonce must be 32 lowercase hex characters")
    return command


def check_fresh(command, worker, now):
    if command["worker"] != worker:
        raise Refusal(401, f"the command is for worker {command['worker']}, and this is {worker}")
    if command["v"] != 1:
        raise Refusal(401, f"the command is of version {command['v']}; this agent takes version 1")
    issued, expires = command["issuedAt"], command["expiresAt"]
    if expires - issued > MAX_LIFETIME:
        raise Refusal(401, f"the command would live {expires - issued}s; at most {MAX_LIFETIME}s is taken")
    if now >= expires:
        raise Refusal(401, f"the command expired {int(now - expires)}s ago")
    if issued > now + MAX_CLOCK_SKEW:
        raise Refusal(401, f"the command is issued {int(issued - now)}s in the future (the clocks disagree)")


class NonceStore:
    """Nonces seen, each kept until its command's expiry, on disk so that a restart does not reopen the window."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "nonces.json")
        self.lock = threading.Lock()
        try:
            with open(self.path, encoding="utf-8") as f:
                loaded = json.load(f)
            self.seen = {n: e for n, e in loaded.items() if NONCE.fullmatch(n) and isinstance(e, int)}
        except FileNotFoundError:
            self.seen = {}
        except (OSError, ValueError, AttributeError) as e:
            # Unreadable, every command of the last minute could come back: refuse to start instead.
            fail(f"cannot read the nonce store {self.path}: {e}")

    def claim(self, nonce, expires, now):
        with self.lock:
            self.seen = {n: e for n, e in self.seen.items() if e > now}
            if nonce in self.seen:
                raise Refusal(409, "this command was sent before (its nonce is spent): a replay is refused")
            self.seen[nonce] = expires
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.seen, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


# --- commands -------------------------------------------------------------------------------


def bad_args(message):
    return Refusal(400, f"bad args: {message}")


def check_args(command, args):
    allowed = {
        "status": ({}, set()),
        "restart": ({"project"}, {"service"}),
        "logs": ({"project", "service"}, {"lines"}),
        "backup-now": ({"project"}, set()),
        "drill-now": ({"project"}, set()),
        "job": ({"id"}, set()),
    }
    if command not in allowed:
        raise Refusal(400, f"unknown command {command!r}; this agent takes {', '.join(allowed)}")
    required, optional = allowed[command]
    missing = sorted(set(required) - set(args))
    extra = sorted(set(args) - set(required) - optional)
    if missing:
        raise bad_args(f"{command} needs {', '.join(missing)}")
    if extra:
        raise bad_args(f"{command} takes no {', '.join(extra)}")
    for field in ("project", "service"):
        if field in args and (not isinstance(args[field], str) or not NAME.fullmatch(args[field])):
            raise bad_args(f"{field} must be a name of lowercase letters, digits and dashes")
    if "lines" in args:
        lines = args["lines"]
        if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= 200:
            raise bad_args("lines must be a whole number from 1 to 200")
    if "id" in args and (not isinstance(args["id"], str) or not JOB_ID.fullmatch(args["id"])):
        raise bad_args("id must be a job id (32 lowercase hex characters)")


def run(argv, timeout=SYNC_TIMEOUT):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout, check=False)


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class Agent:
    def __init__(self, settings, key):
        self.s = settings
        self.key = key
        self.nonces = NonceStore(settings["stateDir"])
        self.jobs = collections.OrderedDict()
        self.jobs_lock = threading.Lock()

    def check_peer(self, peer):
        if peer != self.s["master"]:
            raise Refusal(403, f"{peer} is not the master; this agent answers {self.s['master']} alone")

    # The checks of a signed command after the peer's, in the contract's order; returns the verified command.
    def admit(self, body, now):
        if body is None:
            raise Refusal(400, f"the body is missing or larger than {MAX_BODY} bytes")
        payload, signature = parse_envelope(body)
        verify_signature(self.key, payload, signature)
        command = parse_payload(payload)
        try:
            check_fresh(command, self.s["worker"], now)
            self.nonces.claim(command["nonce"], command["expiresAt"], now)
            check_args(command["command"], command["args"])
        except Refusal as r:
            r.command = command  # for the journal
            raise
        return command

    def deployed(self, project):
        return os.path.exists(os.path.join(self.s["projectsDir"], project, "releases", "current"))

    def require_project(self, project):
        if not self.deployed(project):
            raise Refusal(404, f"project {project} is not deployed on worker {self.s['worker']}")

    def container_of(self, project, service):
        r = run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                 "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}"])
        if r.returncode != 0:
            raise Refusal(502, f"docker ps failed: {last_line(r.stderr)}")
        names = r.stdout.split()
        if not names:
            raise Refusal(404, f"project {project} has no container of service {service}")
        return names[0]

    def containers_of(self, project):
        """The project's containers, its database first (the others reconnect to it)."""
        r = run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                 "--format", '{{.Label "com.docker.compose.service"}} {{.Names}}'])
        if r.returncode != 0:
            raise Refusal(502, f"docker ps failed: {last_line(r.stderr)}")
        found = sorted((service != "db", name) for service, name in (line.split(" ", 1) for line in r.stdout.splitlines() if " " in line))
        if not found:
            raise Refusal(404, f"project {project} has no containers")
        return [name for _, name in found]

    def backup_config(self, project):
        path = os.path.join(self.s["backupConfigDir"], f"{project}.env")
        return path if os.path.exists(path) else None

    def tool(self, name):
        return os.path.join(self.s["toolsDir"], name)

    def execute(self, command):
        name, args = command["command"], command["args"]
        project = args.get("project")
        if project is not None:
            self.require_project(project)
        if name == "status":
            return 200, self.status()
        if name == "job":
            return 200, {"job": self.job(args["id"])}
        if name == "logs":
            container = self.container_of(project, args["service"])
            r = subprocess.run(["docker", "logs", "--tail", str(args.get("lines", 200)), container], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", timeout=SYNC_TIMEOUT, check=False)
            if r.returncode != 0:
                raise Refusal(502, f"docker logs failed: {last_line(r.stdout)}")
            return 200, {"lines": r.stdout.splitlines()[-args.get("lines", 200):]}
        if name == "restart":
            # docker restart of the project's containers, found by Compose's labels: Compose itself would
            # need the release's files and secrets to know the project's services; a restart changes nothing they declare.
            containers = [self.container_of(project, args["service"])] if "service" in args else self.containers_of(project)
            with self.jobs_lock:
                if self.running(project):
                    raise Refusal(409, f"a job of project {project} is already running")
            r = run(["docker", "restart", *containers], timeout=RESTART_TIMEOUT)
            if r.returncode != 0:
                raise Refusal(502, f"docker restart failed: {last_line(r.stderr)}")
            return 200, {"ok": True}
        config = self.backup_config(project)
        if config is None:
            raise Refusal(404, f"project {project} has no backup settings on worker {self.s['worker']}")
        argv = ["bash", self.tool("backup.sh"), config, "snapshot", "manual"] if name == "backup-now" else ["bash", self.tool("drill.sh"), config]
        return 202, {"job": self.start_job(name, project, argv)}

    # --- jobs: one per project at a time, each in a thread of its own ---

    def running(self, project):
        return any(j["project"] == project and j["state"] == "running" for j in self.jobs.values())

    def new_job(self, name, project):
        job = {"id": uuid.uuid4().hex, "command": name, "project": project, "state": "running", "startedAt": int(time.time()), "output": []}
        self.jobs[job["id"]] = job
        ended = [i for i, j in self.jobs.items() if j["state"] != "running"]
        for old in ended[:max(0, len(self.jobs) - JOBS_KEPT)]:
            del self.jobs[old]
        return job

    def start_job(self, name, project, argv):
        with self.jobs_lock:
            if self.running(project):
                raise Refusal(409, f"a job of project {project} is already running")
            job = self.new_job(name, project)
        threading.Thread(target=self.run_job, args=(job, argv), daemon=True).start()
        return self.copy_of(job)

    def run_job(self, job, argv):
        output = collections.deque(maxlen=JOB_LINES)
        code = 1
        try:
            with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace", start_new_session=True) as p:
                for line in p.stdout:
                    with self.jobs_lock:
                        output.append(line.rstrip("\n"))
                        job["output"] = list(output)
                code = p.wait()
        except OSError as e:
            output.append(f"cannot run {argv[1]}: {e.strerror}")
        with self.jobs_lock:
            job.update(state="succeeded" if code == 0 else "failed", endedAt=int(time.time()), exitCode=code, output=list(output))
        log(f"job {job['id']} {job['command']} project={job['project']} {job['state']} exit={code}")

    def copy_of(self, job):
        return json.loads(json.dumps(job))

    def job(self, job_id):
        with self.jobs_lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise Refusal(404, f"no job {job_id} on worker {self.s['worker']} (jobs are forgotten when the agent restarts)")
            return self.copy_of(job)

    # --- status ---

    def status(self):
        projects = []
        root = self.s["projectsDir"]
        names = sorted(os.listdir(root)) if os.path.isdir(root) else []
        for name in names:
            if NAME.fullmatch(name) and self.deployed(name):
                projects.append({"name": name, "services": self.services(name), "backup": self.backup_status(name)})
        return {"worker": self.s["worker"], "projects": projects}

    def services(self, project):
        r = run(["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}"])
        ids = r.stdout.split()
        if r.returncode != 0 or not ids:
            return []
        r = run(["docker", "container", "inspect", *ids])
        if r.returncode != 0:
            return []
        services = []
        for c in json.loads(r.stdout):
            state = c.get("State") or {}
            services.append({
                "service": (c.get("Config") or {}).get("Labels", {}).get("com.docker.compose.service", ""),
                "container": c.get("Name", "").lstrip("/"),
                "state": state.get("Status", "unknown"),
                "health": (state.get("Health") or {}).get("Status", "none"),
            })
        return sorted(services, key=lambda s: s["service"])

    def backup_status(self, project):
        config = self.backup_config(project)
        if config is None:
            return None
        try:
            r = run(["bash", self.tool("backup.sh"), config, "status"], timeout=60)
        except subprocess.TimeoutExpired:
            return {"error": "backup.sh status took more than 60s"}
        if r.returncode != 0:
            return {"error": last_line(r.stderr)}
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"error": "backup.sh status printed no JSON"}


# --- HTTP -------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "supafleet-agent"
    sys_version = ""
    timeout = 10  # a client that stalls mid-request does not hold a thread

    def do_POST(self):
        peer = self.client_address[0]
        command = None
        try:
            self.server.agent.check_peer(peer)
            if self.path != "/v1/command":
                raise Refusal(404, f"no such path {self.path}; commands go to POST /v1/command")
            command = self.server.agent.admit(self.read_body(), time.time())
            status, body = self.server.agent.execute(command)
        except Refusal as r:
            status, body, command = r.status, {"error": r.message}, command or r.command
        except subprocess.TimeoutExpired as e:
            status, body = 504, {"error": f"{e.cmd[0]} took more than {int(e.timeout)}s"}
        except Exception as e:  # noqa: BLE001 - the caller gets a sentence, the journal the detail
            log(f"error: {type(e).__name__}: {e}")
            status, body = 500, {"error": "the agent failed; its journal says why"}
        self.answer(status, body)
        args = (command or {}).get("args", {})
        outcome = body.get("error") or (f"job {body['job']['id']}" if "job" in body and status == 202 else "ok")
        log(f"peer={peer} command={(command or {}).get('command', '-')} project={args.get('project', '-')} status={status} {outcome}")

    def do_GET(self):
        self.refuse_method()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def refuse_method(self):
        peer = self.client_address[0]
        if peer != self.server.agent.s["master"]:
            status, message = 403, f"{peer} is not the master"
        else:
            status, message = 405, "commands go to POST /v1/command"
        self.answer(status, {"error": message})
        log(f"peer={peer} command=- project=- status={status} {self.command} {message}")

    def read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None or not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(int(length))

    def answer(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, *_):
        pass  # one line per request, written by do_POST without the payload or its signature


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SETTINGS
    settings = load_settings(path)
    key = load_key(settings["keyFile"])
    os.makedirs(settings["stateDir"], mode=0o700, exist_ok=True)
    agent = Agent(settings, key)
    try:
        server = ThreadingHTTPServer((settings["address"], settings["port"]), Handler)
    except OSError as e:
        fail(f"cannot listen on {settings['address']}:{settings['port']}: {e.strerror}")
    server.daemon_threads = True
    server.agent = agent
    log(f"worker {settings['worker']} listening on {settings['address']}:{settings['port']} for {settings['master']}")
    server.serve_forever()


if __name__ == "__main__":
    main()
