#!/usr/bin/env python3
"""Draws the search bench's scaling curve as an SVG, from the CSV that
`CLIENTELE_BENCH_CSV=… cargo bench --bench search` appends to (engine,users,case,side,median_ns).

    python3 benches/support/plot_scaling.py scaling.csv docs/search-scaling.svg

One panel per database; x = users, y = median per call, both logarithmic. Each search case has
its colour; Clientele's list search is a solid line, OTOBO's statement on OTOBO's schema a
dashed one. Where a case was measured more than once at one size, the last line counts.
Only the Python standard library is used.
"""
import csv
import math
import sys

ENGINES = [("postgres", "PostgreSQL"), ("sqlite", "SQLite"), ("mysql", "MariaDB")]
SIDES = [("clientele-list", "Clientele (list)", ""), ("otobo", "OTOBO's statement", "6 4")]
COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d"]

PANEL_W, PANEL_H = 340, 300
LEFT, RIGHT, TOP, BOTTOM = 62, 22, 40, 48


def load(path):
    data = {}
    with open(path, newline="") as f:
        for engine, users, case, side, ns in csv.reader(f):
            data[(engine, case, side, int(users))] = int(ns)
    return data


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            v = ns / scale
            return f"{v:g} {unit}"
    return f"{ns:g} ns"


def fmt_users(n):
    return f"{n // 1_000_000} M" if n >= 1_000_000 else f"{n // 1000} k"


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_scaling.py INPUT.csv OUTPUT.svg")
    data = load(sys.argv[1])
    engines = [(k, n) for k, n in ENGINES if any(key[0] == k for key in data)]
    cases = []
    for (_, case, _, _) in sorted(data, key=lambda k: k[1]):
        if case not in cases:
            cases.append(case)
    sizes = sorted({key[3] for key in data})
    times = [v for v in data.values() if v > 0]
    if not engines or not times:
        sys.exit(f"{sys.argv[1]}: no measurements")
    x_lo, x_hi = math.log10(min(sizes)), math.log10(max(sizes))
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_lo = math.floor(math.log10(min(times)))
    y_hi = math.ceil(math.log10(max(times)))

    legend_h = 22 * (len(cases) + 1) + 20
    width = PANEL_W * len(engines)
    height = PANEL_H + legend_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for p, (engine, name) in enumerate(engines):
        ox = p * PANEL_W
        pw, ph = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM

        def px(n):
            return ox + LEFT + (math.log10(n) - x_lo) / (x_hi - x_lo) * pw

        def py(ns):
            return TOP + ph - (math.log10(ns) - y_lo) / (y_hi - y_lo) * ph

        out.append(f'<text x="{ox + LEFT + pw / 2}" y="22" text-anchor="middle" '
                   f'font-size="13" font-weight="bold">{esc(name)}</text>')
        out.append(f'<rect x="{ox + LEFT}" y="{TOP}" width="{pw}" height="{ph}" '
                   f'fill="none" stroke="#999"/>')
        for e in range(y_lo, y_hi + 1):
            y = py(10 ** e)
            out.append(f'<line x1="{ox + LEFT}" x2="{ox + LEFT + pw}" y1="{y}" y2="{y}" '
                       f'stroke="#eee"/>')
            out.append(f'<text x="{ox + LEFT - 4}" y="{y + 4}" text-anchor="end">'
                       f'{esc(fmt_time(10 ** e))}</text>')
        for n in sizes:
            x = px(n)
            out.append(f'<line x1="{x}" x2="{x}" y1="{TOP}" y2="{TOP + ph}" stroke="#eee"/>')
            out.append(f'<text x="{x}" y="{TOP + ph + 16}" text-anchor="middle">'
                       f'{fmt_users(n)}</text>')
        out.append(f'<text x="{ox + LEFT + pw / 2}" y="{TOP + ph + 34}" '
                   f'text-anchor="middle">customer users</text>')
        for c, case in enumerate(cases):
            colour = COLOURS[c % len(COLOURS)]
            for side, _, dash in SIDES:
                points = [(n, data[(engine, case, side, n)]) for n in sizes
                          if data.get((engine, case, side, n), 0) > 0]
                if not points:
                    continue
                path = " ".join(f"{px(n):.1f},{py(ns):.1f}" for n, ns in points)
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                           f'stroke-width="2"{dash_attr}/>')
                for n, ns in points:
                    out.append(f'<circle cx="{px(n):.1f}" cy="{py(ns):.1f}" r="2.5" '
                               f'fill="{colour}"><title>{esc(name)}, {esc(case)}, '
                               f'{esc(side)}, {fmt_users(n)}: {esc(fmt_time(ns))}</title>'
                               f'</circle>')
    ly = PANEL_H + 10
    for s, (_, label, dash) in enumerate(SIDES):
        x = 20 + s * 220
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x}" x2="{x + 40}" y1="{ly}" y2="{ly}" stroke="black" '
                   f'stroke-width="2"{dash_attr}/>')
        out.append(f'<text x="{x + 46}" y="{ly + 4}">{esc(label)}</text>')
    for c, case in enumerate(cases):
        y = ly + 22 * (c + 1)
        colour = COLOURS[c % len(COLOURS)]
        out.append(f'<rect x="20" y="{y - 6}" width="40" height="10" fill="{colour}"/>')
        out.append(f'<text x="66" y="{y + 4}">{esc(case)}</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
