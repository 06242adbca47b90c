"""What `streamstack verify` reads on one lab host, in one pass.

This file runs ON the host (python3, standard library only): the controller sends it with
a list of tasks appended as JSON (``TASKS``), it runs them all at once in threads and
prints one JSON object, task id -> result. It judges nothing; the checks in
streamstack/checks/ do that on the controller. Every task is bounded in time, and
reads only, except ``webhdfs_put``/``webhdfs_read`` on a /tmp file of its own.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import glob
import grp
import hashlib
import hmac
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

TASKS: list[dict] = []  # replaced by the controller
# The secure profile's credentials, as paths on this host (never a secret itself): the
# keytab and principal the probe takes a ticket with, the CA certificate, and the Kafka
# client properties file holding the SCRAM user's password. {} for the plain lab.
AUTH: dict = {}  # replaced by the controller
NO_TICKET: list[str] = []  # why the probe holds no ticket, when kinit failed


def sh(command: str, timeout: float = 30) -> dict:
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"rc": 124, "out": "", "err": f"timed out after {timeout:.0f} s"}
    return {"rc": done.returncode, "out": done.stdout, "err": done.stderr[-2000:]}


def process_user(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Uid:"):
                    return pwd.getpwuid(int(line.split()[1])).pw_name
    except (OSError, KeyError):
        return None
    return None


def units(names: list[str]) -> dict:
    """Each unit's state, whether it is enabled, its main process and that one's user."""
    done = sh("systemctl show -p Id -p ActiveState -p SubState -p UnitFileState -p MainPID "
              "-p LoadState -p FragmentPath -p ActiveEnterTimestamp -- "
              + " ".join(f"'{n}.service'" for n in names))
    out: dict[str, dict] = {}
    for block, name in zip(done["out"].strip().split("\n\n"), names, strict=False):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        pid = int(props.get("MainPID") or 0)
        props["user"] = process_user(pid) if pid else None
        out[name] = props
    return out


def files(paths: list[str], content: bool = False, listing: bool = False) -> dict:
    out: dict[str, dict] = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            out[path] = {"exists": False}
            continue
        entry = {"exists": True, "dir": os.path.isdir(path), "mode": oct(info.st_mode & 0o7777),
                 "user": _name(pwd.getpwuid, info.st_uid),
                 "group": _name(grp.getgrgid, info.st_gid), "size": info.st_size}
        if content and not entry["dir"] and info.st_size < 512 * 1024:
            with open(path, encoding="utf-8", errors="replace") as handle:
                entry["content"] = handle.read()
        if listing and entry["dir"]:
            entry["entries"] = sorted(os.listdir(path))
        out[path] = entry
    return out


def _name(lookup, ident: int) -> str:
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def listening() -> list[str]:
    """Every TCP socket in LISTEN, as 'address:port' (IPv4 and IPv6)."""
    out = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table, encoding="ascii") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != "0A":
                continue
            address, port = fields[1].split(":")
            out.append(f"{_address(address, width)}:{int(port, 16)}")
    return sorted(set(out))


def _address(hexaddr: str, width: int) -> str:
    raw = bytes.fromhex(hexaddr)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def commands(names: list[str]) -> dict:
    """Where each command is found: without a login shell (docker exec, ssh host cmd)
    and in a login shell (profile.d applies), plus the login shell's Spark variables."""
    script = "; ".join(f"printf '%s=%s\\n' {n} \"$(command -v {n})\"" for n in names)
    script += "; printf 'ENV=%s %s %s\\n' \"$SPARK_CONF_DIR\" \"$SPARK_HOME\" \"$PYSPARK_PYTHON\""
    login = sh(f"bash -lc {shlex.quote(script)}")
    found = dict(line.split("=", 1) for line in login["out"].splitlines() if "=" in line)
    return {"plain": {n: shutil.which(n) for n in names},
            "login": {n: found.get(n) or None for n in names},
            "login_env": found.get("ENV", "").split()}


def four_letter(host: str, word: str, port: int = 2181) -> str:
    try:
        with socket.create_connection((host, port), timeout=5) as conn:
            conn.sendall(word.encode())
            conn.settimeout(5)
            chunks = []
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")
    except OSError as exc:
        return f"error: {exc}"


def zookeeper(members: list[str], port: int = 2181) -> dict:
    return {"ruok": four_letter("127.0.0.1", "ruok", port),
            "srvr": {m: four_letter(m, "srvr", port) for m in members}}


def _kafka_string(data: bytes, at: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", data, at)
    at += 2
    if length < 0:
        return None, at
    return data[at:at + length].decode(), at + length


def kafka_brokers(address: str) -> dict:
    """The live brokers a bootstrap address reports (Metadata v1, no topics): what
    kafka-broker-api-versions.sh lists, without starting a JVM. In the secure profile
    over TLS, after a SCRAM login as the user of AUTH's Kafka client properties."""
    host, _, port = address.rpartition(":")
    client = b"streamstack-verify"
    body = struct.pack(">hhih", 3, 1, 1, len(client)) + client + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.settimeout(10)
            if AUTH.get("kafka_config"):
                with _tls(raw, host) as conn:
                    _scram_login(conn, *_kafka_credentials(AUTH["kafka_config"]))
                    data = exchange_frame(conn, body)
            else:
                data = exchange_frame(raw, body)
    except (OSError, ValueError, struct.error) as exc:
        return {"error": f"{address}: {exc}"}
    at = 4  # correlation id
    (count,) = struct.unpack_from(">i", data, at)
    at += 4
    brokers = []
    for _ in range(count):
        (node,) = struct.unpack_from(">i", data, at)
        name, at = _kafka_string(data, at + 4)
        (broker_port,) = struct.unpack_from(">i", data, at)
        _, at = _kafka_string(data, at + 4)  # rack
        brokers.append({"id": node, "host": name, "port": broker_port})
    return {"brokers": brokers}


def _tls(conn: socket.socket, host: str) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=AUTH["cafile"])
    return context.wrap_socket(conn, server_hostname=host)


def _kafka_credentials(path: str) -> tuple[str, str]:
    """The SCRAM user and password of a Kafka client properties file (sasl.jaas.config)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    found = {key: re.search(rf'{key}="([^"]*)"', text) for key in ("username", "password")}
    if not all(found.values()):
        raise ValueError(f"{path}: no username and password in sasl.jaas.config")
    return found["username"].group(1), found["password"].group(1)


def _kafka_request(conn: socket.socket, api_key: int, version: int, payload: bytes) -> bytes:
    client = b"streamstack-verify"
    header = struct.pack(">hhih", api_key, version, 1, len(client)) + client
    return exchange_frame(conn, header + payload)[4:]  # without the correlation id


def _scram_login(conn: socket.socket, user: str, password: str) -> None:
    """SASL SCRAM-SHA-512 (RFC 5802) through SaslHandshake v1 and SaslAuthenticate v0."""
    mechanism = b"SCRAM-SHA-512"
    answer = _kafka_request(conn, 17, 1, struct.pack(">h", len(mechanism)) + mechanism)
    if struct.unpack_from(">h", answer)[0]:
        raise ValueError(f"the broker refused the mechanism {mechanism.decode()}")

    def authenticate(message: bytes) -> bytes:
        got = _kafka_request(conn, 36, 0, struct.pack(">i", len(message)) + message)
        (error,) = struct.unpack_from(">h", got)
        detail, at = _kafka_string(got, 2)
        if error:
            raise ValueError(f"SCRAM login as {user} refused: {detail}")
        (size,) = struct.unpack_from(">i", got, at)
        return got[at + 4:at + 4 + size]

    name = user.replace("=", "=3D").replace(",", "=2C")
    first_bare = f"n={name},r={base64.b64encode(os.urandom(24)).decode()}"
    server_first = authenticate(f"n,,{first_bare}".encode()).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha512")
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.sha512(client_key).digest(), auth_message, "sha512")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    final = authenticate(f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    server_key = hmac.digest(salted, b"Server Key", "sha512")
    expected = base64.b64encode(hmac.digest(server_key, auth_message, "sha512")).decode()
    if final.decode() != f"v={expected}":
        raise ValueError("the broker's SCRAM signature does not match: not our cluster")


def exchange_frame(conn: socket.socket, payload: bytes) -> bytes:
    """Send a request framed by its 4-byte length and read the framed answer (Kafka's
    and ZooKeeper's wire format alike)."""
    conn.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", recv_exactly(conn, 4))[0]
    return recv_exactly(conn, size)


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def http_json(url: str | list[str], timeout: float = 10) -> dict:
    """GET a JSON answer. With a list of URLs (HA: each NameNode or ResourceManager), the
    first one that answers 200: a standby NameNode's WebHDFS answers 403, a standby RM
    redirects (not followed here), a dead one does not answer."""
    errors = []
    for one in [url] if isinstance(url, str) else url:
        try:
            status, _, text = _http("GET", one, timeout=timeout)
            if status != 200:
                errors.append(f"{one}: HTTP {status} {text[:200]}")
                continue
            return {"status": status, "json": json.loads(text or "null")}
        except Exception as exc:  # noqa: BLE001 - any failure is the check's finding
            errors.append(f"{one}: {exc}")
    return {"error": "; ".join(errors)}


def yarn_apps(url: str | list[str], wanted: list[str], wait: float) -> dict:
    """Names of the RUNNING YARN applications; waits up to `wait` s for `wanted`. With a
    list of ResourceManagers (RM HA), the first that answers (a standby redirects)."""
    deadline = time.monotonic() + wait
    urls = [url] if isinstance(url, str) else url
    while True:
        answer = http_json([f"{one}/ws/v1/cluster/apps?states=RUNNING" for one in urls])
        apps = ((answer.get("json") or {}).get("apps") or {}).get("app") or []
        running = sorted({a["name"] for a in apps})
        # A ResourceManager that does not answer is the finding: no wait for it.
        if set(wanted) <= set(running) or answer.get("error") or time.monotonic() > deadline:
            return {"running": running, "error": answer.get("error")}
        time.sleep(5)


def _active(namenode: str | list[str]) -> str:
    """Of several NameNodes (HA), the one whose WebHDFS serves: a standby answers 403
    (StandbyException), a dead one not at all. One NameNode is returned as it is."""
    if isinstance(namenode, str):
        return namenode
    for one in namenode:
        try:
            status = _http("GET", f"{one}/webhdfs/v1/?" + _webhdfs_query("GETFILESTATUS", "hdfs"),
                           timeout=5)[0]
        except OSError:
            continue
        if status == 200:
            return one
    return namenode[0]


def webhdfs_put(namenode: str | list[str], path: str, text: str, user: str = "root") -> dict:
    """Create a file through WebHDFS (NameNode, then the DataNode it redirects to)."""
    query = _webhdfs_query("CREATE", user, overwrite="true")
    try:
        namenode = _active(namenode)
        first = _http("PUT", f"{namenode}/webhdfs/v1{path}?{query}")
        if first[0] != 307:
            return {"error": f"NameNode answered {first[0]}: {first[2][:200]}"}
        second = _http("PUT", first[1], text.encode())
        return {"status": second[0]} if second[0] == 201 else {
            "error": f"DataNode answered {second[0]}: {second[2][:200]}"}
    except OSError as exc:
        return {"error": str(exc)}


def webhdfs_read(namenode: str | list[str], path: str, user: str = "root",
                 delete: bool = True) -> dict:
    try:
        namenode = _active(namenode)
        status, location, text = _http("GET", f"{namenode}/webhdfs/v1{path}?"
                                              + _webhdfs_query("OPEN", user))
        if status == 307:
            status, _, text = _http("GET", location)
        if status != 200:
            return {"error": f"HTTP {status}: {text[:200]}"}
    except OSError as exc:
        return {"error": str(exc)}
    if delete:
        _http("DELETE", f"{namenode}/webhdfs/v1{path}?" + _webhdfs_query("DELETE", user))
    return {"text": text}


def _webhdfs_query(op: str, user: str, **more: str) -> str:
    # With Kerberos the ticket says who calls; user.name is the plain lab's pseudo-auth.
    who = {} if AUTH.get("keytab") else {"user.name": user}
    return urllib.parse.urlencode({"op": op, **who, **more})


def _http(method: str, url: str, body: bytes | None = None,
          timeout: float = 20) -> tuple[int, str, str]:
    """One request, redirects not followed: status, Location, body. In the secure profile
    HTTPS trusts AUTH's CA, and a SPNEGO token from the probe's ticket goes along."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context(
                                               cafile=AUTH.get("cafile")))
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
    if AUTH.get("keytab") and "delegation=" not in parts.query:
        if NO_TICKET:
            raise OSError(NO_TICKET[0])
        headers["Authorization"] = "Negotiate " + _spnego_token(parts.hostname)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Location") or "", answer.read().decode(
            errors="replace")
    finally:
        conn.close()


def _spnego_token(host: str) -> str:
    import gssapi  # python3-gssapi: the kerberos role installs it on every host

    name = gssapi.Name(f"HTTP@{host}", gssapi.NameType.hostbased_service)
    return base64.b64encode(gssapi.SecurityContext(name=name, usage="initiate").step()).decode()


@contextlib.contextmanager
def _ticket():
    """A ticket of AUTH's principal from its keytab, in a cache of the probe's own (never
    root's default cache), for the probe's lifetime."""
    if not AUTH.get("keytab"):
        yield
        return
    handle, path = tempfile.mkstemp(prefix="streamstack-verify-", suffix=".krb5cc")
    os.close(handle)
    os.environ["KRB5CCNAME"] = f"FILE:{path}"
    try:
        done = sh(f"kinit -kt {shlex.quote(AUTH['keytab'])} {shlex.quote(AUTH['principal'])}")
        if done["rc"]:
            NO_TICKET.append(f"kinit as {AUTH['principal']}: {done['err'].strip()[-200:]}")
        yield
    finally:
        os.unlink(path)


def missing_paths(home: str, paths: list[str]) -> dict:
    """Paths of a release layout absent under home ('dir/' must hold something)."""
    if not os.path.isdir(home):
        return {"error": f"{home}: no such directory"}
    missing = []
    for path in paths:
        full = os.path.join(home, path)
        if path.endswith("/"):
            if not (os.path.isdir(full) and os.listdir(full)):
                missing.append(path)
        elif not os.path.lexists(full):
            missing.append(path)
    return {"missing": missing}


def kafka_python() -> dict:
    done = sh("python3 -c 'import kafka; print(kafka.__version__)'")
    installers = glob.glob("/usr/local/lib/python3*/dist-packages/kafka_python-*.dist-info/"
                           "INSTALLER")
    installer = None
    if installers:
        with open(installers[0], encoding="ascii") as handle:
            installer = handle.read().strip()
    return {"version": done["out"].strip() if done["rc"] == 0 else None,
            "error": done["err"][-300:] if done["rc"] else None, "installer": installer}


KINDS = {"sh": sh, "units": units, "files": files, "listening": listening,
         "commands": commands, "zookeeper": zookeeper, "kafka_brokers": kafka_brokers,
         "http_json": http_json, "yarn_apps": yarn_apps, "webhdfs_put": webhdfs_put,
         "webhdfs_read": webhdfs_read, "missing_paths": missing_paths,
         "kafka_python": kafka_python}


def run(tasks: list[dict]) -> dict:
    def one(task: dict):
        started = time.monotonic()
        try:
            result = KINDS[task["kind"]](**task.get("args", {}))
        except Exception as exc:  # noqa: BLE001 - reported, never fatal for the others
            result = {"error": f"{type(exc).__name__}: {exc}"}
        return task["id"], {"result": result,
                            "seconds": round(time.monotonic() - started, 3)}

    with _ticket(), concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, len(tasks))) as pool:
        return dict(pool.map(one, tasks))


if __name__ == "__main__":
    print(json.dumps(run(TASKS)))
