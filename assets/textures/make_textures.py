#!/usr/bin/env python3
"""Rebuild assets/textures/{brick,grass,gravel}.png from scikit-image's CC0 sample textures.

Python 3 standard library only. Get the wheel first:

    pip download --no-deps scikit-image==0.26.0 -d /tmp/x

then run

    python3 assets/textures/make_textures.py --wheel /tmp/x/scikit_image-0.26.0-*.whl

Each 512x512 8-bit grey source (skimage/data/<name>.png) is reduced to 256x256 by averaging
2x2 blocks (sum + 2) // 4, so the whole texture is kept at half resolution. The output is
byte-for-byte reproducible (zlib level 9, Paeth filter on every row).
"""

import argparse
import glob
import hashlib
import os
import struct
import zipfile
import zlib

NAMES = ["brick", "grass", "gravel"]
HERE = os.path.dirname(os.path.abspath(__file__))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_grey_png(data):
    """8-bit greyscale, non-interlaced PNG -> (width, height, rows of ints)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, colour, interlace) == (8, 0, 0), "expected 8-bit grey, no interlace"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows, prev = [], [0] * width
    for y in range(height):
        start = y * (width + 1)
        ftype, line = raw[start], list(raw[start + 1 : start + 1 + width])
        for x in range(width):
            a = line[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                line[x] = (line[x] + _paeth(a, b, c)) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def encode_grey_png(width, height, rows):
    out, prev = bytearray(), [0] * width
    for line in rows:
        out.append(4)
        for x in range(width):
            a = line[x - 1] if x else 0
            c = prev[x - 1] if x else 0
            out.append((line[x] - _paeth(a, prev[x], c)) & 255)
        prev = line

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
            ">I", zlib.crc32(kind + payload) & 0xFFFFFFFF
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(out), 9))
        + chunk(b"IEND", b"")
    )


def halve(width, height, rows):
    return [
        [
            (rows[2 * y][2 * x] + rows[2 * y][2 * x + 1] + rows[2 * y + 1][2 * x] + rows[2 * y + 1][2 * x + 1] + 2) // 4
            for x in range(width // 2)
        ]
        for y in range(height // 2)
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", required=True, help="scikit_image-0.26.0-*.whl")
    args = ap.parse_args()
    wheel = glob.glob(args.wheel)[0]
    print(hashlib.sha256(open(wheel, "rb").read()).hexdigest(), os.path.basename(wheel))
    with zipfile.ZipFile(wheel) as z:
        for name in NAMES:
            src = z.read(f"skimage/data/{name}.png")
            print(hashlib.sha256(src).hexdigest(), f"  (its skimage/data/{name}.png)")
            w, h, rows = decode_grey_png(src)
            assert (w, h) == (512, 512), (name, w, h)
            small = halve(w, h, rows)
            png = encode_grey_png(w // 2, h // 2, small)
            path = os.path.join(HERE, f"{name}.png")
            with open(path, "wb") as f:
                f.write(png)
            mean = sum(map(sum, small)) / (w // 2 * h // 2)
            print(hashlib.sha256(png).hexdigest(), f"textures/{name}.png", len(png), "bytes, mean", round(mean, 3))


if __name__ == "__main__":
    main()
