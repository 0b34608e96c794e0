"""Opinion groups (consult.reports.opinion): planted groups, their comments and the consensus are found;
degenerate votes give a status, never an exception; the result is deterministic and plain JSON."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from consult.reports import opinion
from consult.reports.opinion import analyse, consensus_for_groups, opinion_groups

GROUP_SIZES = (45, 35, 30)
OWN_COMMENTS = 8  # comments each group agrees with and the others reject
CONSENSUS_COMMENT = 0


def planted(sizes: tuple[int, ...] = GROUP_SIZES, *, seed: int = 1, flip: float = 0.08, passes: float = 0.05,
            answered: float = 0.85) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Votes of len(sizes) planted groups: comment 0 everyone agrees with; comments 1 + g * OWN_COMMENTS ..
    are group g's own (it agrees, every other group disagrees). Each participant answers about `answered` of
    the comments, a vote is flipped with probability `flip` and replaced by a pass with `passes`. Returns
    (participants, comments, values, planted group of each participant id 0..n-1)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n_comments = 1 + len(sizes) * OWN_COMMENTS
    stance = -np.ones((len(sizes), n_comments), dtype=np.int8)
    stance[:, CONSENSUS_COMMENT] = 1
    for g in range(len(sizes)):
        stance[g, 1 + g * OWN_COMMENTS: 1 + (g + 1) * OWN_COMMENTS] = 1
    participants, comments, values = [], [], []
    for person, g in enumerate(truth):
        for comment in range(n_comments):
            if rng.random() > answered:
                continue
            vote = stance[g, comment] * (-1 if rng.random() < flip else 1)
            participants.append(person)
            comments.append(comment)
            values.append(0 if rng.random() < passes else vote)
    return (np.array(participants, dtype=np.int64), np.array(comments, dtype=np.int64),
            np.array(values, dtype=np.int8), truth)


def own_comments(group: int) -> set[int]:
    return set(range(1 + group * OWN_COMMENTS, 1 + (group + 1) * OWN_COMMENTS))


def plain_json(value: object) -> bool:
    """Only the types json.dumps writes natively (numpy scalars are not allowed, even np.float64)."""
    if isinstance(value, dict):
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def majority_map(found: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """Our group id -> the planted group most of its members come from."""
    return {int(g): Counter(truth[found == g].tolist()).most_common(1)[0][0] for g in np.unique(found)}


# --- planted structure ---------------------------------------------------------------------------------------

def test_planted_groups_are_recovered():
    participants, comments, values, truth = planted()
    analysis = analyse(participants, comments, values)
    result = analysis.result
    assert result["status"] == "ok"
    assert result["k"] == 3
    assert result["participants"] == result["participants_total"] == sum(GROUP_SIZES)
    assert result["comments"] == 1 + 3 * OWN_COMMENTS
    assert adjusted_rand_score(truth[analysis.participant_ids], analysis.groups) == 1.0
    # groups are numbered by decreasing size
    assert [g["size"] for g in result["groups"]] == sorted(GROUP_SIZES, reverse=True)
    assert [g["id"] for g in result["groups"]] == [1, 2, 3]
    assert 0.25 < result["silhouette"] <= 1.0
    assert result["explained_variance"][0] >= result["explained_variance"][1] > 0.05


def test_representative_comments_are_the_planted_ones():
    participants, comments, values, truth = planted()
    analysis = analyse(participants, comments, values)
    mapping = majority_map(analysis.groups, truth[analysis.participant_ids])
    for group in analysis.result["groups"]:
        planted_group = mapping[group["id"]]
        representative = group["representative"]
        assert 1 <= len(representative) <= 5
        assert {r["comment_id"] for r in representative} <= own_comments(planted_group)
        for r in representative:
            assert r["direction"] == "agree"
            assert r["group_share"] > 0.7 and r["others_share"] < 0.3  # about 0.87 against 0.08 as planted
            assert r["votes"] > 0.6 * group["size"]
            assert r["score"] > 0
        scores = [r["score"] for r in representative]
        assert scores == sorted(scores, reverse=True)


def test_the_consensus_comment_is_found():
    participants, comments, values, _ = planted()
    consensus = opinion_groups(participants, comments, values)["consensus"]
    assert consensus[0]["comment_id"] == CONSENSUS_COMMENT
    assert consensus[0]["direction"] == "agree"
    assert 0.7 < consensus[0]["share"] <= 1.0
    assert consensus[0]["votes"] > 0.7 * sum(GROUP_SIZES)
    # a comment one group agrees with and the others reject is no consensus
    assert all(c["comment_id"] == CONSENSUS_COMMENT for c in consensus)


def test_consensus_for_given_groups_uses_the_same_rule():
    participants, comments, values, truth = planted()
    consensus = consensus_for_groups(participants, comments, values, np.arange(len(truth)), truth)
    assert [c["comment_id"] for c in consensus] == [CONSENSUS_COMMENT]
    # every group disagreeing with a comment is a consensus too (in the other direction)
    flipped = np.where(comments == CONSENSUS_COMMENT, -values, values).astype(np.int8)
    consensus = consensus_for_groups(participants, comments, flipped, np.arange(len(truth)), truth)
    assert [(c["comment_id"], c["direction"]) for c in consensus] == [(CONSENSUS_COMMENT, "disagree")]


@pytest.mark.parametrize("base_sample", [opinion.BASE_SAMPLE, 500])
def test_two_groups_and_a_larger_sparser_conversation(monkeypatch: pytest.MonkeyPatch, base_sample: int):
    # 1,600 participants and 1,200 comments, each answering a few dozen: the randomized SVD path (more than
    # 1,000 comments) and base clusters by k-means (more than 100 distinct positions), fitted on everyone or,
    # as for a huge conversation, on a sample.
    monkeypatch.setattr(opinion, "BASE_SAMPLE", base_sample)
    rng = np.random.default_rng(5)
    n, m = 1600, 1200
    truth = rng.integers(0, 2, n)
    stance = np.where(rng.random((2, m)) < 0.5, 1, -1)
    per_person = 40
    participants = np.repeat(np.arange(n), per_person)
    popular = rng.integers(0, 60, n * per_person)  # most votes on 60 popular comments, the rest anywhere
    comments = np.where(rng.random(n * per_person) < 0.7, popular, rng.integers(0, m, n * per_person))
    values = stance[truth[participants], comments] * np.where(rng.random(n * per_person) < 0.1, -1, 1)
    analysis = analyse(participants, comments, values.astype(np.int8))
    assert analysis.result["status"] == "ok"
    assert analysis.result["k"] == 2
    assert adjusted_rand_score(truth[analysis.participant_ids], analysis.groups) > 0.95


# --- input handling ------------------------------------------------------------------------------------------

def test_the_last_of_repeated_votes_counts():
    participants, comments, values, _ = planted()
    clean = opinion_groups(participants, comments, values)
    # every vote given first the other way round, then corrected: the corrected votes are the ones that count
    doubled = opinion_groups(np.concatenate([participants, participants]), np.concatenate([comments, comments]),
                             np.concatenate([-values, values]).astype(np.int8))
    assert doubled == clean
    assert doubled["votes"] == len(values)
    reversed_ = opinion_groups(np.concatenate([participants, participants]), np.concatenate([comments, comments]),
                               np.concatenate([values, -values]).astype(np.int8))
    assert reversed_ != clean


@pytest.mark.parametrize("scale", [1, 1_000_003, 10**15])
def test_ids_are_arbitrary(scale: int):
    # compact ids, spread ids and ids too far apart to pack: three ways of numbering, one result
    participants, comments, values, _ = planted()
    reference = opinion_groups(participants, comments, values)
    result = opinion_groups(participants * scale + 7, comments * scale - 3, values)
    assert result["k"] == reference["k"]
    assert [g["size"] for g in result["groups"]] == [g["size"] for g in reference["groups"]]
    assert result["points"] == reference["points"]
    assert [c["comment_id"] for c in result["consensus"]] == [c["comment_id"] * scale - 3 for c in reference["consensus"]]


def test_deduplication_helpers_match_numpy():
    rng = np.random.default_rng(2)
    for ids in (rng.integers(0, 50, 400), rng.integers(-10**9, 10**9, 400), rng.integers(-2**62, 2**62, 400)):
        unique, index = opinion._dense_ids(ids)
        expected_unique, expected_index = np.unique(ids, return_inverse=True)
        assert np.array_equal(unique, expected_unique) and np.array_equal(index, expected_index.ravel())
    huge = np.array([2**61 - 7 * k for k in range(10)])  # too large to pack with positions: the argsort path
    for cells in (rng.integers(0, 30, 300), huge[rng.integers(0, 10, 300)]):
        positions, sorted_cells = opinion._last_votes(cells)
        expected = {int(c): i for i, c in enumerate(cells)}  # a later occurrence overwrites an earlier one
        assert sorted_cells.tolist() == sorted(expected)
        assert positions.tolist() == [expected[c] for c in sorted(expected)]


def test_rejected_comments_are_left_out():
    participants, comments, values, truth = planted()
    rejected = np.array([1, 2, 99])  # two of group 0's own comments, and an id nobody voted on
    result = opinion_groups(participants, comments, values, rejected=rejected)
    assert result["status"] == "ok"
    assert result["comments"] == 1 + 3 * OWN_COMMENTS - 2
    assert result["votes"] == int(np.count_nonzero(~np.isin(comments, rejected)))
    named = {r["comment_id"] for g in result["groups"] for r in g["representative"]}
    named |= {c["comment_id"] for c in result["consensus"]}
    assert named.isdisjoint({1, 2})
    analysis = analyse(participants, comments, values, rejected=rejected)
    assert adjusted_rand_score(truth[analysis.participant_ids], analysis.groups) == 1.0


def test_malformed_input_raises():
    with pytest.raises(ValueError):
        opinion_groups(np.array([1, 2]), np.array([1]), np.array([1, 1], dtype=np.int8))
    with pytest.raises(ValueError):
        opinion_groups(np.array([1]), np.array([1]), np.array([2], dtype=np.int8))
    with pytest.raises(ValueError):
        opinion_groups(np.array([1]), np.array([1]), np.array([1], dtype=np.int8), max_groups=1)


# --- degenerate votes ----------------------------------------------------------------------------------------

def _assert_degenerate(result: dict, status: str) -> None:
    assert result["status"] == status
    assert result["k"] == 0
    assert result["groups"] == [] and result["consensus"] == [] and result["points"] == []
    assert result["silhouette"] is None
    json.dumps(result, allow_nan=False)
    assert plain_json(result)


def test_no_votes():
    empty = np.zeros(0, dtype=np.int64)
    result = opinion_groups(empty, empty, np.zeros(0, dtype=np.int8))
    _assert_degenerate(result, "no_votes")
    assert result["votes"] == result["participants_total"] == result["comments"] == 0


def test_one_voter():
    result = opinion_groups(np.zeros(10, dtype=np.int64), np.arange(10), np.array([1, -1] * 5, dtype=np.int8))
    _assert_degenerate(result, "too_few_participants")
    assert result["participants_total"] == 1 and result["votes"] == 10 and result["comments"] == 10


def test_one_comment():
    result = opinion_groups(np.arange(50), np.full(50, 7), np.array([1, -1] * 25, dtype=np.int8))
    _assert_degenerate(result, "too_few_comments")
    assert result["participants_total"] == 50 and result["comments"] == 1


def test_identical_votes_and_all_passes():
    participants = np.repeat(np.arange(30), 10)
    comments = np.tile(np.arange(10), 30)
    for value in (1, -1, 0):
        result = opinion_groups(participants, comments, np.full(300, value, dtype=np.int8))
        _assert_degenerate(result, "too_few_participants")
        assert result["participants"] == 30 and result["votes"] == 300
        assert result["explained_variance"] == [0.0, 0.0]


def test_too_few_voters_in_the_conversation():
    # 20 voters, but only two answered enough comments to be placed in a group
    participants = np.concatenate([np.repeat([0, 1], 10), np.arange(2, 20)])
    comments = np.concatenate([np.tile(np.arange(10), 2), np.zeros(18, dtype=np.int64)])
    values = np.concatenate([np.ones(10), -np.ones(10), np.ones(18)]).astype(np.int8)
    result = opinion_groups(participants, comments, values)
    _assert_degenerate(result, "too_few_participants")
    assert result["participants"] == 2 and result["participants_total"] == 20


def test_fewer_participants_than_groups():
    participants = np.repeat(np.arange(3), 4)
    comments = np.tile(np.arange(4), 3)
    values = np.array([1, 1, -1, -1, -1, -1, 1, 1, 1, -1, 1, -1], dtype=np.int8)
    result = opinion_groups(participants, comments, values, max_groups=5)
    assert result["status"] == "ok"
    assert result["k"] == 2
    assert sum(g["size"] for g in result["groups"]) == 3
    assert plain_json(result)


# --- output --------------------------------------------------------------------------------------------------

def test_deterministic_with_a_seed():
    participants, comments, values, _ = planted(seed=3)
    first = opinion_groups(participants, comments, values, seed=11)
    assert opinion_groups(participants, comments, values, seed=11) == first
    # another seed may sample differently but finds the same groups in planted data
    other = opinion_groups(participants, comments, values, seed=12)
    assert [g["size"] for g in other["groups"]] == [g["size"] for g in first["groups"]]


def test_json_and_points():
    participants, comments, values, _ = planted()
    result = opinion_groups(participants, comments, values, max_points=50)
    assert plain_json(result)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    points = result["points"]
    assert len(points) == 50
    assert all(-1.0 <= p["x"] <= 1.0 and -1.0 <= p["y"] <= 1.0 for p in points)
    assert {p["group"] for p in points} <= {1, 2, 3}
    everyone = opinion_groups(participants, comments, values)["points"]
    assert len(everyone) == sum(GROUP_SIZES)
    assert max(max(abs(p["x"]), abs(p["y"])) for p in everyone) == 1.0  # scaled to fill the square
    # the sample is a subset of everyone's points, the same each time
    assert all(p in everyone for p in points)
    assert opinion_groups(participants, comments, values, max_points=50)["points"] == points
    assert opinion_groups(participants, comments, values, max_points=0)["points"] == []
