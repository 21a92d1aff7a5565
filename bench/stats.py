"""Numbers out of the samples: medians, ranges, paired ratios, the per-step slope."""

import statistics


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def paired_ratios(rounds, num, den):
    """Median (and range) of num/den over the rounds where both ran cleanly: one round's A, B and C
    ran back to back, so the machine's load of the moment cancels out of their ratio."""
    ratios = [r[num] / r[den] for r in rounds if r.get(num) and r.get(den)]
    return summary(ratios)


def slope(points):
    """Least-squares slope of [(x, y)]; None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
