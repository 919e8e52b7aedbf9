"""The figures of `make soak` (scripts/soak): a least-squares slope, the
per-second pause figures, and the plot as hand-written SVG (RSS, open
descriptors and checkpoint pause over time). Python 3 stdlib only.
"""
import html
import math

PROCS = ["primary-dm", "secondary-dm", "primary-side", "secondary-side"]
COLOURS = {"primary-dm": "#1f77b4", "secondary-dm": "#ff7f0e",
           "primary-side": "#2ca02c", "secondary-side": "#d62728",
           "p50": "#1f77b4", "p99": "#9467bd", "max": "#d62728"}
WIDTH, PANEL_H, MARGIN_L, MARGIN_R, MARGIN_T, GAP = 900, 190, 70, 170, 30, 50


def slope(xs, ys):
    """Least-squares slope of ys over xs (0 with fewer than 2 points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def percentile(vals, p):
    """The nearest-rank percentile (as the coordinator's summary)."""
    vals = sorted(vals)
    if not vals:
        return 0
    return vals[max(0, -(-len(vals) * p // 100) - 1)]


def pause_per_second(pauses):
    """pauses: [(t seconds, pause us)] -> [(second, p50, p99, max)]."""
    by_sec = {}
    for t, us in pauses:
        by_sec.setdefault(int(t), []).append(us)
    return [(s, percentile(v, 50), percentile(v, 99), max(v))
            for s, v in sorted(by_sec.items())]


def nice_max(v):
    """A round axis top at or above v."""
    if v <= 0:
        return 1
    step = 1
    while step * 10 <= v:
        step *= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= v:
            return m * step
    return 10 * step


class Panel:
    def __init__(self, out, top, title, unit, t_max, y_max, span,
                 y_min_log=None):
        """y_min_log: a logarithmic y axis from that value up to the
        decade at or above y_max."""
        self.out, self.top, self.t_max = out, top, t_max
        self.log = y_min_log
        if y_min_log:
            self.y_max = 10 ** math.ceil(math.log10(max(y_max, y_min_log * 10)))
        else:
            self.y_max = nice_max(y_max)
        self.x0, self.x1 = MARGIN_L, WIDTH - MARGIN_R
        self.legend_y = top + 12
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' %
                   (self.x0, top - 8, html.escape(title)))
        shade(self, span)
        self.axes(unit)

    def frac(self, v):
        """Where v sits on the y axis, 0 (bottom) to 1 (top)."""
        v = min(v, self.y_max)
        if self.log:
            lo = math.log10(self.log)
            return (math.log10(max(v, self.log)) - lo) / \
                (math.log10(self.y_max) - lo)
        return v / self.y_max

    def xy(self, t, v):
        x = self.x0 + (self.x1 - self.x0) * t / max(self.t_max, 1)
        y = self.top + PANEL_H - PANEL_H * self.frac(v)
        return "%.1f,%.1f" % (x, y)

    def y_ticks(self):
        if not self.log:
            return [self.y_max * i / 4 for i in range(5)]
        ticks, v = [], self.log
        while v <= self.y_max * 1.001:
            ticks.append(v)
            v *= 10
        return ticks

    def axes(self, unit):
        o, b = self.out, self.top + PANEL_H
        o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
                 'stroke="#888"/>' % (self.x0, self.top, self.x1 - self.x0,
                                      PANEL_H))
        for v in self.y_ticks():
            y = b - PANEL_H * self.frac(v)
            o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" '
                     'stroke="#eee"/>' % (self.x0, y, self.x1, y))
            o.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' %
                     (self.x0 - 5, y + 4, round(v, 3)))
        for i in range(7):
            t = self.t_max * i / 6
            x = self.x0 + (self.x1 - self.x0) * i / 6
            o.append('<text x="%.1f" y="%d" text-anchor="middle">%d s</text>'
                     % (x, b + 15, round(t)))
        o.append('<text x="%d" y="%d" transform="rotate(-90 %d %d)" '
                 'text-anchor="middle">%s</text>' %
                 (15, self.top + PANEL_H // 2, 15, self.top + PANEL_H // 2,
                  html.escape(unit)))

    def line(self, name, points):
        if not points:
            return
        self.out.append('<polyline fill="none" stroke="%s" stroke-width="1.2"'
                        ' points="%s"/>' % (COLOURS[name], " ".join(
                            self.xy(t, v) for t, v in points)))
        self.out.append('<text x="%d" y="%d" fill="%s">%s</text>' %
                        (self.x1 + 10, self.legend_y, COLOURS[name],
                         html.escape(name)))
        self.legend_y += 16


def svg(samples, pauses, t_max, clients_span):
    """samples: [{"t": s, "rss": {proc: KiB}, "fds": {proc: n}}];
    pauses: [(t s, pause us)]; clients_span: (start, end) seconds.
    Returns the SVG text."""
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' %
           (WIDTH, 3 * (PANEL_H + GAP) + MARGIN_T),
           '<rect width="100%" height="100%" fill="white"/>']
    tops = [MARGIN_T + i * (PANEL_H + GAP) for i in range(3)]
    rss_max = max((s["rss"][p] / 1024 for s in samples for p in PROCS),
                  default=1)
    panel = Panel(out, tops[0], "RSS (VmRSS) over time", "MiB", t_max,
                  rss_max * 1.1, clients_span)
    for p in PROCS:
        panel.line(p, [(s["t"], s["rss"][p] / 1024) for s in samples])
    fd_max = max((s["fds"][p] for s in samples for p in PROCS), default=1)
    panel = Panel(out, tops[1], "open descriptors over time", "fds", t_max,
                  fd_max * 1.1, clients_span)
    for p in PROCS:
        panel.line(p, [(s["t"], s["fds"][p]) for s in samples])
    per_sec = pause_per_second(pauses)
    top = max((m for _, _, _, m in per_sec), default=1000) / 1000
    panel = Panel(out, tops[2], "checkpoint pause per second of the run "
                  "(log scale)", "ms", t_max, top, clients_span, 0.1)
    for i, name in ((3, "max"), (2, "p99"), (1, "p50")):
        panel.line(name, [(r[0] + 0.5, r[i] / 1000) for r in per_sec])
    out.append("</svg>")
    return "\n".join(out) + "\n"


def shade(panel, span):
    """A light band over the seconds in which the QMP clients ran."""
    a, b = span
    x0 = float(panel.xy(a, 0).split(",")[0])
    x1 = float(panel.xy(b, 0).split(",")[0])
    panel.out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" '
                     'fill="#f4f4ff"/>' % (x0, panel.top, x1 - x0, PANEL_H))
    panel.out.append('<text x="%.1f" y="%d" fill="#99a">clients</text>' %
                     (x0 + 3, panel.top + 12))
