def safe_div(a, b, default=0.0):
    """a / b, or `default` when b is zero."""
    if b == 0:
        return default
    return a / b


def percent(part, whole):
    """Share of `part` in `whole`, in percent, rounded to one decimal."""
    return round(100 * safe_div(part, whole), 1)
