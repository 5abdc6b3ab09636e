"""How a fused program's members are shared out over CPU lanes (suite.train.lanes): the
choice of lanes and the padded shares, against values worked out by hand."""

from __future__ import annotations

import pytest

from suite.train.lanes import best_lanes, shares


@pytest.mark.parametrize(
    ("members", "cores", "devices", "lanes"),
    [
        (1, 2, 4, 1),  # one member: one lane
        (2, 2, 4, 2),  # a member per core
        # 3 on 2 cores: 1 lane costs 3 steps, 2 lanes 2 (shares of 2), 3 lanes 1 x 3/2 = 1.5
        (3, 2, 4, 3),
        (3, 2, 2, 2),  # only two devices: shares of 2, the second padded
        (4, 2, 4, 2),  # 2 lanes: 2; 4 lanes: 1 x 4/2 = 2, a tie: the fewer
        (5, 2, 4, 2),  # 2 lanes: 3; 3 lanes: 2 x 1.5 = 3 (tie); 4 lanes: 2 x 2 = 4
        (7, 2, 4, 2),  # 2 lanes: 4; 3 lanes: 3 x 1.5 = 4.5; 4 lanes: 2 x 2 = 4 (tie)
        (3, 1, 2, 1),  # one core (a worker's share): lanes only share it
        (16, 16, 16, 16),
        (10, 4, 8, 5),  # 4 lanes: 3; 5 lanes: 2 x 5/4 = 2.5; 6: 2 x 1.5 = 3; 8: 2 x 2 = 4
    ],
)
def test_the_lanes_that_finish_soonest(members, cores, devices, lanes):
    assert best_lanes(members, cores, devices) == lanes


def test_shares_are_equal_padded_and_never_empty():
    assert shares(1, 1) == [[0]]
    assert shares(3, 1) == [[0, 1, 2]]
    assert shares(3, 2) == [[0, 1], [2, 2]]
    assert shares(3, 3) == [[0], [1], [2]]
    assert shares(5, 2) == [[0, 1, 2], [3, 4, 4]]
    assert shares(5, 4) == [[0, 1], [2, 3], [4, 4]]  # 3 lanes of 2 do it: none left empty
    for members in range(1, 17):
        for lanes in range(1, members + 1):
            found = shares(members, lanes)
            assert len({len(share) for share in found}) == 1
            assert sorted({k for share in found for k in share}) == list(range(members))
