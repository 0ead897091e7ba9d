#!/usr/bin/env python3
"""Rebuilds assets/photos/*.png from the scikit-image 0.26.0 wheel (Python standard library only).

    pip download --no-deps scikit-image==0.26.0 -d /tmp/x
    python3 assets/photos/make_photos.py --wheel /tmp/x/scikit_image-0.26.0-*.whl

Each photo is halved in both directions by averaging 2x2 blocks (rounded to nearest, an odd
last row/column is dropped), so camera and astronaut become 256x256 and chelsea 225x150.
Output PNGs are 8-bit, zlib level 9, the smallest of the five uniform filter types.
"""

import argparse
import struct
import zipfile
import zlib
from pathlib import Path

PHOTOS = ["camera", "astronaut", "chelsea"]


def decode_png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    w, h, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (0, 2, 6), header
    channels = {0: 1, 2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = w * channels
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    if channels == 4:  # drop alpha
        rows = [bytearray(v for i, v in enumerate(r) if i % 4 != 3) for r in rows]
        channels = 3
    return w, h, channels, rows


def halve(w, h, channels, rows):
    w2, h2 = w // 2, h // 2
    out = []
    for y in range(h2):
        r0, r1 = rows[2 * y], rows[2 * y + 1]
        line = bytearray(w2 * channels)
        for x in range(w2):
            for c in range(channels):
                i, j = (2 * x) * channels + c, (2 * x + 1) * channels + c
                line[x * channels + c] = (r0[i] + r0[j] + r1[i] + r1[j] + 2) // 4
        out.append(line)
    return w2, h2, out


def filter_rows(rows, channels, f):
    out, prev = b"", bytearray(len(rows[0]))
    for line in rows:
        enc = bytearray([f])
        for i, v in enumerate(line):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            enc.append((v - pred) & 255)
        out += bytes(enc)
        prev = line
    return out


def encode_png(w, h, channels, rows):
    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    colour = {1: 0, 3: 2}[channels]
    best = min(
        (zlib.compress(filter_rows(rows, channels, f), 9) for f in range(5)), key=len
    )
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", best) + chunk(b"IEND", b"")
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = ap.parse_args()
    with zipfile.ZipFile(args.wheel) as z:
        for name in PHOTOS:
            w, h, ch, rows = decode_png(z.read(f"skimage/data/{name}.png"))
            w, h, rows = halve(w, h, ch, rows)
            path = Path(args.out) / f"{name}.png"
            path.write_bytes(encode_png(w, h, ch, rows))
            print(f"{path}: {w}x{h}, {ch} channel(s), {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
