#!/usr/bin/env python3
"""Compare two images saved as docker-archive tars (hako's and buildah's):
the files of the final tree (path, type, mode, owner, content, link target;
whiteouts and opaque dirs applied, times ignored) and the config fields a
Dockerfile sets. Prints the differences; exit status 1 if there are any."""
import hashlib
import json
import sys
import tarfile

# Mount points buildah 1.28 leaves in an image after a RUN (empty files and
# a directory that were not in the base): its artifacts, not Dockerfile semantics.
BUILDAH_ARTIFACTS = {"etc/hostname", "etc/hosts", "etc/resolv.conf", "run", "run/secrets"}

CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
                 "Labels", "StopSignal", "Healthcheck", "OnBuild"]


def load(path):
    with tarfile.open(path) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        config = json.load(t.extractfile(manifest["Config"]))
        tree = {}
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=t.extractfile(layer)) as lt:
                apply(tree, lt)
    return tree, config.get("config", {})


def apply(tree, lt):
    for m in lt.getmembers():
        name = m.name.lstrip("./").rstrip("/")
        if m.name in (".", "./"):
            continue
        base = name.rsplit("/", 1)[-1]
        parent = name.rsplit("/", 1)[0] if "/" in name else ""
        if base == ".wh..wh..opq":
            for k in [k for k in tree if parent and k.startswith(parent + "/")]:
                del tree[k]
            continue
        if base.startswith(".wh."):
            gone = (parent + "/" if parent else "") + base[4:]
            for k in [k for k in tree if k == gone or k.startswith(gone + "/")]:
                del tree[k]
            continue
        if m.isdir():
            kind, data = "dir", ""
        elif m.issym():
            kind, data = "symlink", m.linkname
        elif m.islnk():
            target = tree.get(m.linkname.lstrip("./"))
            kind, data = "file", target["data"] if target else "?"
        elif m.isfile():
            kind, data = "file", hashlib.sha256(lt.extractfile(m).read()).hexdigest()
        else:
            kind, data = "special", f"{m.type!r}"
        if kind != "dir" or name not in tree or tree[name]["kind"] != "dir":
            for k in [k for k in tree if k.startswith(name + "/")] if kind != "dir" else []:
                del tree[k]
        tree[name] = {"kind": kind, "mode": oct(m.mode & 0o7777), "owner": f"{m.uid}:{m.gid}", "data": data}


def main():
    a_tree, a_cfg = load(sys.argv[1])
    b_tree, b_cfg = load(sys.argv[2])
    diffs = []
    for path in sorted(set(a_tree) | set(b_tree)):
        a, b = a_tree.get(path), b_tree.get(path)
        if a is None and path in BUILDAH_ARTIFACTS and b["data"] in ("", hashlib.sha256(b"").hexdigest()):
            continue
        if a != b:
            diffs.append(f"  /{path}: hako {a} | buildah {b}")
    for f in CONFIG_FIELDS:
        a, b = a_cfg.get(f) or None, b_cfg.get(f) or None
        if f == "Labels" and b:
            b = {k: v for k, v in b.items() if k != "io.buildah.version"} or None
        if a != b:
            diffs.append(f"  config {f}: hako {json.dumps(a)} | buildah {json.dumps(b)}")
    if diffs:
        print("\n".join(diffs))
        return 1
    print(f"  same: {len(a_tree)} paths, config {', '.join(f for f in CONFIG_FIELDS if a_cfg.get(f))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
