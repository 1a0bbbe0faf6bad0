from calculator import percent, safe_div


def test_safe_div():
    assert safe_div(6, 3) == 2
    assert safe_div(1, 0) == 0.0
    assert safe_div(1, 0, default=None) is None


def test_percent():
    assert percent(1, 4) == 25.0
    assert percent(1, 0) == 0.0
