import pytest

from timbre.errors import ConfigError
from timbre.sigmas import karras_sigmas, noise_fraction_index


def test_grid_matches_edm_formula_by_hand():
    s = karras_sigmas(3)
    # (80^(1/7) + (0.002^(1/7) - 80^(1/7)) / 2)^7, worked by hand: ((1.8707 + 0.4117) / 2)^7 = 2.515
    assert s.tolist()[0] == pytest.approx(80.0)
    assert s[1].item() == pytest.approx(2.51522, abs=1e-4)
    assert s[2].item() == pytest.approx(0.002)
    assert s[3].item() == 0.0 and len(s) == 4


def test_grid_is_descending_and_ends_in_zero():
    s = karras_sigmas(30, 0.01, 50.0, rho=5.0)
    assert len(s) == 31 and s[-1] == 0 and bool((s[:-1] > s[1:]).all())
    assert s[0].item() == pytest.approx(50.0) and s[-2].item() == pytest.approx(0.01)


def test_single_step_grid():
    assert karras_sigmas(1).tolist() == [80.0, 0.0]


@pytest.mark.parametrize("fraction, index", [(1.0, 0), (0.5, 4), (0.25, 7), (0.1, 10), (0.05, 13), (0.0, 30)])
def test_noise_fraction_lookup_against_hand_values(fraction, index):
    # default 30-step grid: 80, 66.10, 54.33, 44.40, 36.07, 29.11, 23.34, 18.58, 14.68, 11.50, 8.93, 6.87, ...
    # f=0.5 -> 40: |36.07-40| = 3.93 < |44.40-40| = 4.40 -> 4;  f=0.25 -> 20: 18.58 -> 7;  f=0.1 -> 8: 8.93 -> 10
    assert noise_fraction_index(karras_sigmas(30), fraction) == index


def test_lookup_is_not_naive_linear_scaling():
    sigmas = karras_sigmas(30)
    assert noise_fraction_index(sigmas, 0.5) != round(0.5 * 30)


@pytest.mark.parametrize("kwargs, word", [({"steps": 0}, "steps"), ({"steps": 10, "sigma_min": 90.0}, "sigma_min"),
                                          ({"steps": 10, "rho": 0.0}, "rho")])
def test_bad_grid_parameters_name_themselves(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        karras_sigmas(**kwargs)


def test_bad_fraction_names_itself():
    with pytest.raises(ConfigError, match="noise_fraction"):
        noise_fraction_index(karras_sigmas(5), 1.5)
