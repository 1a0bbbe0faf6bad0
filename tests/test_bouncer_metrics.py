"""BouncerBench metrics against hand-computed cases and the paper's baselines."""
import pytest

from patchwarden.bouncer.data import Label
from patchwarden.bouncer.metrics import i_score, o_score, score, score_side


def input_labels(qualities):
    return {f"i{n}": Label(f"i{n}", input_quality=q, input_bounce=q >= 2) for n, q in enumerate(qualities)}


def output_labels(qualities):
    return {f"o{n}": Label(f"o{n}", output_quality=p, output_bounce=p < 1.0) for n, p in enumerate(qualities)}


def test_input_hand_computed_with_missing_prediction():
    labels = input_labels([0, 1, 2, 3])  # i0, i1 accept; i2, i3 bounce
    preds = {"i0": False, "i2": True, "i3": False}  # i1 missing
    m = score_side("input", labels, preds)
    # over predicted ids: TA=1 (i0), FA=1 (i3), TB=1 (i2), FB=0
    assert m.confusion == {"true_accept": 1, "false_bounce": 0, "false_accept": 1, "true_bounce": 1}
    assert m.accept.precision == pytest.approx(0.5) and m.accept.recall == pytest.approx(1.0)
    assert m.bounce.precision == pytest.approx(1.0) and m.bounce.recall == pytest.approx(0.5)
    assert m.f_m == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert m.r_b == pytest.approx(50.0) and m.fnr_a == pytest.approx(0.0)
    # I-Score over all 4 items, i1 missing = accept: (1.5 + 0.5 + 0.5 - 1.5) * 2/3 / 4
    assert m.score == pytest.approx(1 / 6)
    assert m.n_labelled == 4 and m.n_predicted == 3
    assert m.leaderboard() == {"F_m": 0.667, "I_Score": 0.167, "R_b": 50.0, "FNR_a": 0.0}


def test_missing_predictions_count_as_accept_in_i_score():
    labels = input_labels([3, 3])
    # bouncing a 3 scores +1 each; a missing one counts as accepting it: -1
    assert i_score(labels, {"i0": True, "i1": True}) == pytest.approx(1.0)
    assert i_score(labels, {"i0": True}) == pytest.approx(0.0)
    assert i_score(labels, {}) == pytest.approx(-1.0)


def test_o_score_hand_computed():
    labels = output_labels([1.0, 1.0, 0.5, 0.0])
    # accept correct +1; bounce correct -1; bounce incorrect (p=0.5) +0.5; missing incorrect (p=0) 0
    preds = {"o0": False, "o1": True, "o2": True}
    assert o_score(labels, preds) == pytest.approx((1 - 1 + 0.5 + 0) / 4)
    m = score_side("output", labels, preds)
    assert m.score_key == "O_Score"
    assert m.confusion == {"true_accept": 1, "false_bounce": 1, "false_accept": 0, "true_bounce": 1}
    assert m.fnr_a == pytest.approx(50.0) and m.r_b == pytest.approx(100.0)
    # accepting an incorrect patch costs its pass fraction
    assert o_score(output_labels([0.25]), {"o0": False}) == pytest.approx(-0.25)


def paper_input_split():
    """1,699 items with the published class balance (650 bounce / 1,049 accept) and a
    quality mix whose mean (1.2136) gives the paper's always-accept I-Score of 0.191."""
    qualities = [2] * 650 + [1] * 762 + [0] * 287
    return input_labels(qualities)


def test_always_accept_and_always_bounce_match_the_reference_figures():
    labels = paper_input_split()
    accept = score_side("input", labels, {iid: False for iid in labels}).leaderboard()
    bounce = score_side("input", labels, {iid: True for iid in labels}).leaderboard()
    assert accept == {"F_m": 0.382, "I_Score": 0.191, "R_b": 0.0, "FNR_a": 0.0}
    assert bounce == {"F_m": 0.277, "I_Score": -0.191, "R_b": 100.0, "FNR_a": 100.0}
    # an empty submission scores like always-accept on I-Score (missing = accept)
    assert score_side("input", labels, {}).leaderboard()["I_Score"] == 0.191


def test_output_baselines_follow_the_class_balance():
    labels = output_labels([1.0] * 237 + [0.5] * 405)  # 237 accept / 405 bounce, as published
    accept = score_side("output", labels, {iid: False for iid in labels})
    bounce = score_side("output", labels, {iid: True for iid in labels})
    assert accept.f_m == pytest.approx((2 * 237 / 642 / (1 + 237 / 642)) / 2)
    assert bounce.f_m == pytest.approx((2 * 405 / 642 / (1 + 405 / 642)) / 2)
    assert accept.score == pytest.approx((237 - 405 * 0.5) / 642)
    assert bounce.score == pytest.approx((-237 + 405 * 0.5) / 642)


def test_lite_scores_both_sides():
    labels = {
        "a": Label("a", input_quality=0, input_bounce=False, output_quality=1.0, output_bounce=False),
        "b": Label("b", input_quality=3, input_bounce=True, output_quality=0.0, output_bounce=True),
    }
    res = score("lite", labels, {"input": {"a": False, "b": True}, "output": {"a": True, "b": True}})
    assert res["input"].f_m == pytest.approx(1.0) and res["input"].score == pytest.approx(1.0)
    assert res["output"].confusion["false_bounce"] == 1 and res["output"].score == pytest.approx(-0.5)


def test_zero_division_gives_zero():
    labels = input_labels([0, 1])
    m = score_side("input", labels, {"i0": False, "i1": False})
    assert m.bounce.precision == 0 and m.bounce.recall == 0 and m.bounce.f1 == 0
    assert m.f_m == pytest.approx(0.5)
