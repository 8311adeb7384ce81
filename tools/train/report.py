"""The loss curve of a training log as a small standalone SVG (no plotting package needed)."""
import html


def _polyline(points, x_of, y_of, colour):
    path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>'


def loss_curve_svg(log, path, title, width=640, height=320):
    """MLM and NSP loss against step; one shared y axis from 0 to the largest loss seen."""
    if not log:
        return
    left, right, top, bottom = 50, 20, 30, 40
    steps = [r["step"] for r in log]
    y_max = max(max(r["mlm_loss"], r["nsp_loss"]) for r in log) * 1.05
    x_of = lambda s: left + (s - steps[0]) / max(1, steps[-1] - steps[0]) * (width - left - right)
    y_of = lambda v: top + (1 - v / y_max) * (height - top - bottom)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="18">{html.escape(title)}: training loss by step</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>']
    for i in range(5):
        v = y_max * i / 4
        parts.append(f'<text x="{left - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    for s in (steps[0], steps[len(steps) // 2], steps[-1]):
        parts.append(f'<text x="{x_of(s):.1f}" y="{height - bottom + 16}" text-anchor="middle">{s}</text>')
    parts.append(f'<text x="{(width + left) / 2}" y="{height - 6}" text-anchor="middle">step</text>')
    parts.append(_polyline([(r["step"], r["mlm_loss"]) for r in log], x_of, y_of, "#1f77b4"))
    parts.append(_polyline([(r["step"], r["nsp_loss"]) for r in log], x_of, y_of, "#d62728"))
    parts.append(f'<text x="{width - right - 150}" y="{top + 12}" fill="#1f77b4">MLM loss</text>')
    parts.append(f'<text x="{width - right - 150}" y="{top + 28}" fill="#d62728">NSP loss</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
