#!/usr/bin/env python3
"""Writes the registry benchmark's two images as one OCI image layout:
   big:SEED   one 100 MiB layer of random bytes (incompressible, uncompressed tar)
   many:SEED  50 layers of 64 KiB random bytes each
Random content per SEED, so every round pushes blobs no registry has seen."""
import hashlib, io, json, os, sys, tarfile

out, seed = sys.argv[1], sys.argv[2]
big_mib = int(os.environ.get("BIG_MIB", "100"))
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)

def put(data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{digest}", "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}

def layer(name: str, size: int) -> dict:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar", **put(buffer.getvalue())}

def image(tag: str, layers: list) -> dict:
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **put(json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": layers}
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(json.dumps(manifest).encode())}
    desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    return desc

manifests = [
    image(f"big-{seed}", [layer(f"big-{seed}.bin", big_mib << 20)]),
    image(f"many-{seed}", [layer(f"small-{seed}-{i}.bin", 64 << 10) for i in range(50)]),
]
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}, f)
with open(f"{out}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
