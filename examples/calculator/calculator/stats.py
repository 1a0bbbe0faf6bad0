def mean(values):
    """Arithmetic mean of a non-empty sequence."""
    if not values:
        raise ValueError("mean of an empty sequence")
    return sum(values) / len(values)


def median(values):
    """Middle value of the sorted values; the mean of the two middle ones for even sizes."""
    if not values:
        raise ValueError("median of an empty sequence")
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    if n % 2 == 0:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def clamp(x, lo, hi):
    """Limit x to the closed interval [lo, hi]."""
    if lo > hi:
        raise ValueError("empty interval")
    return max(lo, min(x, hi))
