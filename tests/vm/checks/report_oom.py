#!/usr/bin/env python3
"""Host-side check of the report-oom case: the OOM report and the run's HTML page.

Usage: report_oom.py OUT_DIR

The report's victim in A must be the pid and name of the kernel's "Killed process" line. The HTML
page `zonectl run` wrote is rendered by headless Chromium and the screenshot must be the picture:
the node map's colours (the first partition's and the system zone's) cover a real area, so an
error page or a blank page fails.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

failures = []
PARTITION_RGB = (0x25, 0x63, 0xEB)  # render_html.cpp: the first partition's colour
SYSTEM_RGB = (0x6B, 0x72, 0x80)     # render_html.cpp: kSystemColor


def zone_pixel(pixel, colour):
    """The zone colour itself, or the node map's unused part: the colour at 35% over white."""
    blend = tuple(round(255 - 0.35 * (255 - c)) for c in colour)
    return all(abs(p - c) <= 3 for p, c in zip(pixel, colour)) or \
        all(abs(p - c) <= 6 for p, c in zip(pixel, blend))


def check(condition, message):
    if not condition:
        failures.append(message)


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def screenshot(html, png):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return "chromium is not installed (scripts/deps.sh installs it)"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--user-data-dir=" + profile, "--window-size=1000,1200", "--screenshot=" + png,
             "file://" + os.path.abspath(html)],
            capture_output=True, text=True, timeout=120)
    if not os.path.exists(png):
        return "chromium made no screenshot: " + result.stderr[-500:]
    return None


def main(out):
    report = json.load(open(os.path.join(out, "report.json")))
    lines = open(os.path.join(out, "oom-lines.txt")).read()
    killed = re.findall(r"Killed process (\d+) \((\S+)\)", lines)
    check(len(killed) == 1, "one 'Killed process' line expected, got %s" % killed)
    zones = {z["name"]: z for z in report["partitions"]}
    a = zones.get("A", {})
    check(a.get("oom_kills") == 1, "A: oom_kills %s" % a.get("oom_kills"))
    check(zones.get("B", {}).get("oom_kills") == 0, "B: oom_kills %s" % zones.get("B", {}).get("oom_kills"))
    victims = a.get("oom_victims") or []
    check(len(victims) == 1, "A: one victim expected, got %s" % victims)
    if killed and victims:
        victim = victims[0]
        check((str(victim["pid"]), victim["task"]) == killed[0], "victim %s vs kernel %s" % (victim, killed[0]))
        check(victim["constraint"] == "CONSTRAINT_CPUSET", "constraint %s" % victim["constraint"])
    html = os.path.join(out, "run.html")
    text = open(html).read()
    check("<script" not in text and "<link" not in text, "the page loads something")
    check("Over time" in text, "no time series in the run's page")
    png = os.path.join(out, "run.png")
    problem = screenshot(html, png)
    check(problem is None, problem or "")
    if problem is None:
        width, height, rows = read_png(png)
        counts = {PARTITION_RGB: 0, SYSTEM_RGB: 0}
        distinct = set()
        for row in rows:
            for pixel in row:
                for colour in counts:
                    if zone_pixel(pixel, colour):
                        counts[colour] += 1
                distinct.add(pixel)
        print("screenshot %dx%d: %d partition-colour pixels, %d system-colour pixels, %d colours"
              % (width, height, counts[PARTITION_RGB], counts[SYSTEM_RGB], len(distinct)))
        # A node map cell is 32x32 px inside, used part solid, the rest the colour at 35% on
        # white: A's two cells and node 0's cell must be there (the legend swatch is 144 px).
        check(counts[PARTITION_RGB] >= 1500, "A's nodes are missing from the screenshot's node map")
        check(counts[SYSTEM_RGB] >= 700, "node 0 (system) is missing from the screenshot's node map")
        check(len(distinct) >= 8, "the screenshot is nearly blank")
    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
