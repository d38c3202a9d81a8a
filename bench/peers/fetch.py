"""bench/peers/fetch.py - the peers' toolchains, fetched from Debian's mirror
into a private, git-ignored cache (bench/.peers-cache/) without touching the
system's apt state. bench/run imports it.

The yardstick is the newest Tokio and Go that Debian ships: Tokio from
trixie (librust-tokio-dev, 1.43 at the time of writing) and Go from
bookworm-backports (golang-1.23-go, golang-1.23-src). When those cannot be
had, the same is tried with bookworm's own packages (Tokio 1.24, Go 1.19),
and a note says so; when even that fails, whatever the system has
(/usr/share/cargo/registry, `go` on PATH) is used.

How, for each "set" of suites:

  1. A private apt view under CACHE/apt-<set>/: its own sources.list (the
     mirror URL and keyring are taken from the system's own sources, so no
     host is named here), an apt.conf setting Dir::Etc::SourceList,
     Dir::Etc::SourceParts "/dev/null", Dir::State::Lists, Dir::Cache and an
     empty dpkg status, and APT_CONFIG pointing at it. `apt-get update`
     fills only these folders.
  2. Tokio: `apt-get install -s` (a simulation against the empty status)
     resolves the closure of TOKIO_ROOTS (below);
     the librust-* packages of that closure are fetched with
     `apt-get download NAME=VERSION` and unpacked with `dpkg-deb -x` into
     CACHE/tokio-<set>/, whose usr/share/cargo/registry is the directory
     registry the Tokio peer builds against.
  3. Go: golang-<v>-go and golang-<v>-src are fetched and unpacked into
     CACHE/go-<set>/; GOROOT is CACHE/go-<set>/usr/lib/go-<v>.
  4. A file `.complete` (JSON: set, version) is written last; when it is
     there, nothing is fetched again, so a second run is offline and fast.
"""

import glob
import json
import os
import re
import shutil
import subprocess

# Which suites each set uses, and which Go packages it takes.
SETS = {
    "new": {
        "suites": ["trixie", "bookworm-backports"],
        "go": "1.23",
        "label": "trixie / bookworm-backports",
    },
    "old": {
        "suites": ["bookworm"],
        "go": "1.19",
        "label": "bookworm",
    },
}
# futures-util for join_all (combinators/join_all_10k), tokio-util for
# CancellationToken (st/cancel_token_*).
TOKIO_ROOTS = ["librust-tokio-dev", "librust-futures-util-dev", "librust-tokio-util-dev"]


def _note(msg):
    import sys
    print(msg, file=sys.stderr, flush=True)


def system_mirror():
    """(uri, signed_by) of the system's main Debian archive, or (None, None).

    Read from /etc/apt/sources.list.d/*.sources (deb822) and
    /etc/apt/sources.list; the security archive is skipped."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2).strip()
            if "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                found.append((uri, fields.get("signed-by")))
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            m = re.match(r"^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+", line)
            if m:
                opts = m.group(1) or ""
                sb = re.search(r"signed-by=(\S+?)[\s\]]", opts + " ")
                found.append((m.group(2), sb.group(1) if sb else None))
    for uri, signed_by in found:
        if "security" not in uri and uri.rstrip("/").endswith("/debian"):
            return uri, signed_by
    return (found[0] if found else (None, None))


class AptView:
    """A private apt configuration under `root` (see the module comment)."""

    def __init__(self, root, suites, uri, signed_by, log):
        self.root = root
        self.log = log
        for d in ["etc", "lists/partial", "cache/archives/partial", "state"]:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        status = os.path.join(root, "state", "status")
        open(status, "a").close()
        opt = "[signed-by=%s] " % signed_by if signed_by else ""
        with open(os.path.join(root, "etc", "sources.list"), "w") as f:
            for suite in suites:
                f.write("deb %s%s %s main\n" % (opt, uri, suite))
        self.conf = os.path.join(root, "etc", "apt.conf")
        with open(self.conf, "w") as f:
            f.write('Dir::Etc::SourceList "%s";\n' % os.path.join(root, "etc", "sources.list"))
            f.write('Dir::Etc::SourceParts "/dev/null";\n')
            f.write('Dir::State::Lists "%s";\n' % os.path.join(root, "lists"))
            f.write('Dir::State::status "%s";\n' % status)
            f.write('Dir::Cache "%s";\n' % os.path.join(root, "cache"))
            f.write('Debug::NoLocking "true";\n')
            f.write('APT::Sandbox::User "root";\n')
        self.env = dict(os.environ, APT_CONFIG=self.conf, LC_ALL="C",
                        DEBIAN_FRONTEND="noninteractive")

    def run(self, args, cwd=None, capture=False):
        with open(self.log, "a") as logf:
            logf.write("$ APT_CONFIG=%s %s\n" % (self.conf, " ".join(args)))
            logf.flush()
            r = subprocess.run(args, cwd=cwd, env=self.env, text=True,
                               stdout=subprocess.PIPE if capture else logf,
                               stderr=logf)
        return r

    def update(self):
        return self.run(["apt-get", "update", "-q"]).returncode == 0

    def closure(self, roots):
        """[(name, version)] of the librust-* packages an install of `roots`
        would bring, resolved against an empty dpkg status."""
        r = self.run(["apt-get", "install", "-s", "-q", "--no-install-recommends"] + roots,
                     capture=True)
        if r.returncode != 0:
            return None
        out = []
        for line in r.stdout.splitlines():
            m = re.match(r"^Inst (\S+) \((\S+) ", line)
            if m and m.group(1).startswith("librust-"):
                out.append((m.group(1), m.group(2)))
        return out

    def candidate(self, name):
        r = self.run(["apt-cache", "policy", name], capture=True)
        m = re.search(r"Candidate:\s*(\S+)", r.stdout or "")
        return m.group(1) if m and m.group(1) != "(none)" else None

    def download_unpack(self, pkgs, debdir, dest):
        """apt-get download NAME=VERSION for each, then dpkg-deb -x into dest."""
        os.makedirs(debdir, exist_ok=True)
        want = ["%s=%s" % p for p in pkgs]
        if self.run(["apt-get", "download", "-q"] + want, cwd=debdir).returncode != 0:
            return False
        os.makedirs(dest, exist_ok=True)
        for deb in sorted(glob.glob(os.path.join(debdir, "*.deb"))):
            if self.run(["dpkg-deb", "-x", deb, dest]).returncode != 0:
                return False
        return True


def _complete(path):
    try:
        with open(os.path.join(path, ".complete")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _mark(path, info):
    with open(os.path.join(path, ".complete"), "w") as f:
        json.dump(info, f)


def tokio_version(registry):
    """The Tokio version in a directory registry, or None."""
    best = None
    for d in glob.glob(os.path.join(registry, "tokio-1.*")):
        m = re.match(r"^tokio-(1\.\d+\.\d+)$", os.path.basename(d))
        if m:
            v = tuple(int(x) for x in m.group(1).split("."))
            best = max(best, v) if best else v
    return ".".join(map(str, best)) if best else None


class Fetcher:
    def __init__(self, cache, logdir):
        self.cache = cache
        os.makedirs(logdir, exist_ok=True)
        self.log = os.path.join(logdir, "fetch-peers.log")
        self.views = {}
        self.mirror = None

    def view(self, name):
        if name in self.views:
            return self.views[name]
        if self.mirror is None:
            self.mirror = system_mirror()
        uri, signed_by = self.mirror
        view = None
        if uri and shutil.which("apt-get") and shutil.which("dpkg-deb"):
            view = AptView(os.path.join(self.cache, "apt-" + name), SETS[name]["suites"],
                           uri, signed_by, self.log)
            if not view.update():
                view = None
        self.views[name] = view
        return view

    def tokio(self, name):
        """Path of the directory registry of set `name`, fetched if needed."""
        dest = os.path.join(self.cache, "tokio-" + name)
        done = _complete(dest)
        if not done or done.get("roots") != TOKIO_ROOTS:
            shutil.rmtree(dest, ignore_errors=True)
            view = self.view(name)
            if view is None:
                return None
            pkgs = view.closure(TOKIO_ROOTS)
            if not pkgs:
                return None
            _note("bench/run: fetching %d librust-* packages (%s) into %s"
                  % (len(pkgs), SETS[name]["label"], os.path.relpath(dest)))
            if not view.download_unpack(pkgs, os.path.join(dest, "debs"),
                                        os.path.join(dest, "root")):
                return None
            registry = os.path.join(dest, "root", "usr", "share", "cargo", "registry")
            version = tokio_version(registry)
            if not version:
                return None
            shutil.rmtree(os.path.join(dest, "debs"), ignore_errors=True)
            _mark(dest, {"set": name, "version": version, "roots": TOKIO_ROOTS})
        return os.path.join(dest, "root", "usr", "share", "cargo", "registry")

    def go(self, name):
        """GOROOT of set `name`, fetched if needed."""
        gov = SETS[name]["go"]
        dest = os.path.join(self.cache, "go-" + name)
        goroot = os.path.join(dest, "root", "usr", "lib", "go-" + gov)
        if not _complete(dest):
            shutil.rmtree(dest, ignore_errors=True)
            view = self.view(name)
            if view is None:
                return None
            pkgs = []
            for pkg in ["golang-%s-go" % gov, "golang-%s-src" % gov]:
                v = view.candidate(pkg)
                if not v:
                    return None
                pkgs.append((pkg, v))
            _note("bench/run: fetching Go %s (%s) into %s"
                  % (gov, SETS[name]["label"], os.path.relpath(dest)))
            if not view.download_unpack(pkgs, os.path.join(dest, "debs"),
                                        os.path.join(dest, "root")):
                return None
            _fix_goroot(dest, goroot, gov)
            if not os.access(os.path.join(goroot, "bin", "go"), os.X_OK):
                return None
            shutil.rmtree(os.path.join(dest, "debs"), ignore_errors=True)
            _mark(dest, {"set": name, "version": pkgs[0][1]})
        return goroot


def _fix_goroot(dest, goroot, gov):
    """Debian's GOROOT links src, pkg/include, ... to absolute /usr/share/go-V
    paths; point every such link into the unpacked tree instead."""
    root = os.path.join(dest, "root")
    for dirpath, dirnames, filenames in os.walk(goroot):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                target = os.readlink(p)
                if target.startswith("/usr/"):
                    os.remove(p)
                    os.symlink(os.path.join(root, target.lstrip("/")), p)


def fetch(cache, logdir, prefer="new"):
    """Returns {"tokio": (registry, version, note), "go": (goroot, version,
    note)}; an entry is None when no toolchain could be had at all (then the
    system's own is tried by the caller). `prefer` "old" skips the newer set."""
    cache = os.path.abspath(cache)
    os.makedirs(cache, exist_ok=True)
    f = Fetcher(cache, logdir)
    order = ["new", "old"] if prefer == "new" else ["old"]
    out = {"tokio": None, "go": None}
    for name in order:
        if out["tokio"] is None:
            reg = f.tokio(name)
            if reg:
                info = _complete(os.path.join(cache, "tokio-" + name))
                out["tokio"] = (reg, info["version"], name)
            elif name == "new":
                _note("bench/run: note: the newest Tokio (trixie) could not be fetched (see "
                      "%s); falling back to bookworm's" % os.path.relpath(f.log))
        if out["go"] is None:
            goroot = f.go(name)
            if goroot:
                info = _complete(os.path.join(cache, "go-" + name))
                out["go"] = (goroot, info["version"], name)
            elif name == "new":
                _note("bench/run: note: Go 1.23 (bookworm-backports) could not be fetched (see "
                      "%s); falling back to bookworm's Go 1.19" % os.path.relpath(f.log))
    return out
