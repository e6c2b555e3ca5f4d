#!/usr/bin/python3
"""make-layouts.py OUTDIR BUSYBOX_ROOTFS - build deterministic OCI image layouts (single, multi, multiarch[, big]) for hako's registry tests.

Layouts (each OUTDIR/NAME is an OCI layout whose index.json has one entry, ref.name "latest"):
  single     one gzip layer holding the rootfs
  multi      rootfs (gzip) + /etc/hello,/data/{a,b} (gzip) + whiteouts /data/.wh.a,
             /etc/.wh..wh..opq and /etc/new (uncompressed tar) + /zstd-file (zstd, if `zstd` exists)
  multiarch  an image index: linux/amd64 and linux/arm64/v8 (same layer, different configs)
  big        only with BIG_MB=N: BIG_LAYERS (default 5) gzip layers, ~N MB compressed in total
Tars: sorted entries, mtime 946684800, uid/gid 0, no user/group names; gzip mtime 0,
level 6; so digests are stable (big uses a seeded PRNG, so it is stable too).
Prints a JSON summary on stdout (see README.md). Stdlib only.
"""
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ProcessPoolExecutor

MTIME = 946684800  # 2000-01-01T00:00:00Z
CREATED = "2000-01-01T00:00:00Z"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_GZIP = MT_TAR + "+gzip"
MT_ZSTD = MT_TAR + "+zstd"
REF = "org.opencontainers.image.ref.name"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, path):
        if os.path.exists(path):
            shutil.rmtree(path)
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"))
        with open(os.path.join(path, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, data):
        d = sha(data)
        p = os.path.join(self.path, "blobs", "sha256", d[7:])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return d

    def json_blob(self, mediatype, obj):
        data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        return {"mediaType": mediatype, "digest": self.blob(data), "size": len(data)}

    def finish(self, top):
        top = dict(top, annotations={REF: "latest"})
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [top]}
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump(index, f, sort_keys=True, separators=(",", ":"))


def tarinfo(name, kind=tarfile.REGTYPE, mode=0o644, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, size, linkname
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = MTIME, 0, 0, "", ""
    return ti


def build_tar(entries):
    """entries: list of (TarInfo, bytes-or-None) -> uncompressed tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def rootfs_entries(root):
    entries, seen = [], {}
    def walk(rel):
        full = os.path.join(root, rel) if rel else root
        for n in sorted(os.listdir(full)):
            r = os.path.join(rel, n) if rel else n
            p = os.path.join(root, r)
            st = os.lstat(p)
            mode = st.st_mode & 0o7777
            if os.path.islink(p):
                entries.append((tarinfo(r, tarfile.SYMTYPE, 0o777, linkname=os.readlink(p)), None))
            elif os.path.isdir(p):
                entries.append((tarinfo(r + "/", tarfile.DIRTYPE, mode), None))
                walk(r)
            elif os.path.isfile(p):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen:
                    entries.append((tarinfo(r, tarfile.LNKTYPE, mode, linkname=seen[key]), None))
                    continue
                seen[key] = r
                with open(p, "rb") as f:
                    data = f.read()
                entries.append((tarinfo(r, mode=mode, size=len(data)), data))
            else:
                print("make-layouts.py: skipping special file %s" % r, file=sys.stderr)
    walk("")
    return entries


def files(spec):
    """spec: list of (path, content-or-None for a dir) -> tar entries."""
    out = []
    for path, content in spec:
        if content is None:
            out.append((tarinfo(path + "/", tarfile.DIRTYPE, 0o755), None))
        else:
            out.append((tarinfo(path, size=len(content)), content))
    return out


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def add_layer(layout, tar, mediatype):
    if mediatype == MT_GZIP:
        blob = gz(tar)
    elif mediatype == MT_ZSTD:
        blob = subprocess.run(["zstd", "-q", "-c", "-3", "--no-progress"], input=tar,
                              capture_output=True, check=True).stdout
    else:
        blob = tar
    return {"mediaType": mediatype, "digest": layout.blob(blob), "size": len(blob)}, sha(tar)


def image(layout, layers, diff_ids, arch="amd64", variant=None, history=None):
    cfg = {"architecture": arch, "os": "linux", "created": CREATED,
           "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "history": [{"created": CREATED, "created_by": h} for h in (history or [])]}
    if variant:
        cfg["variant"] = variant
    cdesc = layout.json_blob(MT_CONFIG, cfg)
    man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc, "layers": layers}
    mdesc = layout.json_blob(MT_MANIFEST, man)
    summary = {"manifest": mdesc["digest"], "manifest_size": mdesc["size"], "config": cdesc["digest"],
               "layers": [dict(l, diff_id=d) for l, d in zip(layers, diff_ids)], "diff_ids": diff_ids}
    return mdesc, summary


def top_summary(layout, desc, extra):
    return dict({"dir": os.path.abspath(layout.path), "ref": "latest", "digest": desc["digest"],
                 "mediaType": desc["mediaType"], "size": desc["size"]}, **extra)


def big_layer(args):
    """Write one big gzip layer straight into the layout; returns (desc, diff_id)."""
    path, i, target = args
    rng = random.Random(1000 + i)
    text = (b"hako registry benchmark layer %d, compressible filler text. " % i) * 1024
    block = 64 * 1024
    nblocks = max(1, target // (block // 2))  # half random, half text -> ~2x ratio
    tmp = os.path.join(path, "blobs", "sha256", ".tmp-%d" % i)
    raw_h = hashlib.sha256()

    class Tee:  # hashes the uncompressed tar on its way into gzip
        def __init__(self, out):
            self.out = out
        def write(self, b):
            raw_h.update(b)
            return self.out.write(b)

    with open(tmp, "wb") as f:
        gzf = gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0, filename="")
        ti = tarinfo("big/layer%d.bin" % i, size=nblocks * block)
        tee = Tee(gzf)
        hdr = ti.tobuf(tarfile.PAX_FORMAT)
        tee.write(hdr)
        for _ in range(nblocks):
            tee.write(rng.randbytes(block // 2))
            tee.write(text[: block // 2])
        # tar end: data is block-aligned already; two zero records, pad to 10240
        written = len(hdr) + nblocks * block + 1024
        tee.write(b"\0" * (1024 + (-written) % tarfile.RECORDSIZE))
        gzf.close()
    h = hashlib.sha256()
    with open(tmp, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    size = os.path.getsize(tmp)
    os.rename(tmp, os.path.join(path, "blobs", "sha256", h.hexdigest()))
    return {"mediaType": MT_GZIP, "digest": "sha256:" + h.hexdigest(), "size": size}, "sha256:" + raw_h.hexdigest()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-layouts.py OUTDIR BUSYBOX_ROOTFS")
    out, root = sys.argv[1], sys.argv[2]
    if not os.path.isdir(root):
        sys.exit("make-layouts.py: %s is not a directory" % root)
    os.makedirs(out, exist_ok=True)
    summary = {}
    rootfs_tar = build_tar(rootfs_entries(root))

    # single
    L = Layout(os.path.join(out, "single"))
    desc, did = add_layer(L, rootfs_tar, MT_GZIP)
    m, s = image(L, [desc], [did], history=["rootfs"])
    L.finish(m)
    summary["single"] = top_summary(L, m, s)

    # multi
    L = Layout(os.path.join(out, "multi"))
    layers, dids, hist = [], [], []
    for tar, mt, h in [
        (rootfs_tar, MT_GZIP, "rootfs"),
        (build_tar(files([("data", None), ("data/a", b"a\n"), ("data/b", b"b\n"),
                          ("etc", None), ("etc/hello", b"hello\n")])), MT_GZIP, "add /etc/hello /data/a /data/b"),
        (build_tar(files([("data", None), ("data/.wh.a", b""),
                          ("etc", None), ("etc/.wh..wh..opq", b""), ("etc/new", b"new\n")])),
         MT_TAR, "whiteout /data/a, opaque /etc, add /etc/new"),
    ] + ([(build_tar(files([("zstd-file", b"zstd\n")])), MT_ZSTD, "add /zstd-file")]
         if shutil.which("zstd") else []):
        desc, did = add_layer(L, tar, mt)
        layers.append(desc); dids.append(did); hist.append(h)
    m, s = image(L, layers, dids, history=hist)
    L.finish(m)
    summary["multi"] = top_summary(L, m, s)

    # multiarch
    L = Layout(os.path.join(out, "multiarch"))
    desc, did = add_layer(L, rootfs_tar, MT_GZIP)
    mans, sums = [], []
    for arch, variant in [("amd64", None), ("arm64", "v8")]:
        m, s = image(L, [desc], [did], arch=arch, variant=variant, history=["rootfs"])
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        mans.append(dict(m, platform=platform))
        sums.append(dict(s, platform=platform))
    idx = L.json_blob(MT_INDEX, {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": mans})
    L.finish(idx)
    summary["multiarch"] = top_summary(L, idx, {"manifests": sums})

    # big
    if os.environ.get("BIG_MB"):
        total = int(float(os.environ["BIG_MB"]) * 1024 * 1024)
        n = int(os.environ.get("BIG_LAYERS", "5"))
        L = Layout(os.path.join(out, "big"))
        with ProcessPoolExecutor(max_workers=min(n, os.cpu_count() or 1)) as ex:
            res = list(ex.map(big_layer, [(L.path, i, total // n) for i in range(n)]))
        m, s = image(L, [r[0] for r in res], [r[1] for r in res],
                     history=["big layer %d" % i for i in range(n)])
        L.finish(m)
        summary["big"] = top_summary(L, m, s)

    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
