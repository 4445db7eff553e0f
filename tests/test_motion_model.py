"""The constant-velocity motion model of the search centre (``pytracking.tracker.atom.motion``)."""
import numpy as np
import pytest

from pytracking.tracker.atom.motion import updated_velocity


def test_velocity_is_an_exponential_average_of_the_moves():
    v = np.zeros(2)
    for _ in range(3):
        v = updated_velocity(v, np.array([8.0, -4.0]), 0.5, max_length=100.0)
    # (1 - 0.5 ** 3) of the constant move
    assert v == pytest.approx([7.0, -3.5])


def test_weight_one_takes_the_last_move_and_weight_zero_never_starts():
    assert updated_velocity(np.array([5.0, 5.0]), np.array([1.0, 2.0]), 1.0, 100.0) == pytest.approx([1.0, 2.0])
    assert np.all(updated_velocity(np.zeros(2), np.array([30.0, 40.0]), 0.0, 100.0) == 0.0)


def test_velocity_is_shortened_to_the_largest_shift():
    v = updated_velocity(np.zeros(2), np.array([30.0, 40.0]), 1.0, max_length=10.0)
    assert np.hypot(*v) == pytest.approx(10.0)
    assert v == pytest.approx([6.0, 8.0])   # the direction is kept
    assert updated_velocity(np.zeros(2), np.zeros(2), 1.0, 0.0) == pytest.approx([0.0, 0.0])
