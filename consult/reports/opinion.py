"""Opinion groups from agree/disagree votes, computed as Polis computes them.

The method, step by step (Polis's math is the reference: github.com/compdemocracy/polis, math/src/polismath):

1. **Vote matrix.** One row per participant, one column per comment that has a vote; 1 agree, -1 disagree,
   0 pass (a pass is a vote: it counts as having answered). A participant who voted twice on a comment counts
   with the last vote. The matrix is kept sparse (scipy CSR): a cell exists only where someone voted.
2. **Who is clustered ("in the conversation").** Only participants with at least ``min(min_votes, comments)``
   votes are placed in groups (Polis: 7). Everyone who voted still shapes the principal components and the
   comment means, as in Polis. Repness and consensus count the clustered participants' votes only.
3. **Principal components.** A comment a participant did not answer is imputed with the comment's mean
   vote, as Polis does. After centring, an imputed cell is exactly zero, so the centred matrix has the
   sparsity of the votes: observed vote minus the comment's mean where someone voted, zero elsewhere. Its two
   leading right singular vectors are the two principal components of the imputed matrix, computed without
   ever building a dense participants x comments matrix: exactly (eigenvectors of the smaller Gram matrix)
   when there are at most 1,000 comments or participants, otherwise by randomized subspace iteration (Halko,
   Martinsson and Tropp; 7 power iterations, 10 extra vectors: within 0.2 degree of the exact plane on the
   real Polis conversations). ``explained_variance`` is the share of the total variance of the imputed matrix
   that each component carries.
4. **Positions.** A participant's position is their centred votes projected on the two components, multiplied
   by ``sqrt(comments / votes)`` (Polis's "sparsity-aware" projection): without it, someone who answered five
   of two hundred comments would sit near the centre only because the imputed cells pull them there.
5. **Base clusters.** Polis first summarises the positions by 100 k-means "base clusters" and groups those,
   weighted by their size; here too (with fewer than 100 distinct positions, each is its own base cluster;
   with more than 20,000 participants, the base clusters are fitted on a seeded sample of 20,000 and everyone
   is then assigned to the nearest). This bounds the cost of what follows whatever the number of participants.
6. **Groups.** For every k from 2 to ``max_groups`` (at most 2 + base clusters / 12, as in Polis), weighted
   k-means on the base clusters is run from 100 k-means++ starts; each distinct result is scored by its
   silhouette over the base clusters (Polis's measure, and the reported ``silhouette``), and the
   best-scoring partition over all k and all starts is kept. Polis keeps the state of earlier runs (previous
   clusters as starting points, a k that must win four runs in a row before it changes); a report computed
   once has no such history, and of the k-means solutions the best separated is the one closest to the
   groups Polis shows (bench/evaluate_opinions.py compares them on real Polis conversations). Groups are
   numbered from 1 by decreasing size. Everything random draws from ``seed``: the same input gives the same
   result.
7. **Representative comments** (Polis "repness"), for each group and comment, from the group's votes
   ``na`` agree, ``nd`` disagree, ``ns`` votes (passes included) and the same counts over all other groups:
   ``pa = (na + 1) / (ns + 2)``, ``ra = pa / ((na_out + 1) / (ns_out + 2))``, ``pat`` a one-proportion
   z-test of ``pa`` against 1/2 and ``rat`` a two-proportion z-test of the group against the others (all
   counts + 1); the same for disagreement. A comment is representative when both tests pass at 90%
   (z > 1.2816) for agreement or for disagreement; its direction is the one with the larger ``rat``/``rdt``
   and its ``score`` is ``ra * rat * pa * pat`` (or the disagreement's). The five best are kept per group; a
   group with none keeps the single comment with the best test, as Polis does (Polis also puts its "best
   agree" comment first; that display rule is not reproduced).
8. **Consensus.** A comment is consensus when every group agrees with it (or every group disagrees): in
   each group ``pa > 1/2`` with the one-proportion test significant at 90%. Comments are ranked by the
   product of the groups' ``pa`` (Polis's "group-aware consensus"; ``pd`` for disagreement) and the five
   best kept; ``share`` is the lowest raw share of agreeing (or disagreeing) votes among the groups.
9. **Points** for the scatter chart: the positions of at most ``max_points`` clustered participants (a
   seeded sample when there are more), divided by the largest absolute coordinate so that they lie in
   [-1, 1].

Statuses: ``no_votes``; ``too_few_comments`` (fewer than two comments have votes: no plane to place anyone
in); ``too_few_participants`` (fewer than three participants in the conversation, or fewer than two
different positions among them, e.g. everyone voted alike or only passed: there is no second group to
find); ``ok``. Every status carries the counts; only ``ok`` carries groups, consensus and points.

Polis keeps comments rejected by a moderator as a column of zeros rather than dropping them: such a column
adds nothing to the components but counts, for every participant, in ``sqrt(comments / votes)``, which
changes who lands in which group (on the Polis conversations of bench/evaluate_opinions.py it matters more
than any other detail). Pass their ids as ``rejected`` to reproduce that; their votes are otherwise left out,
also from the count against ``min_votes``. Without it, rejected comments simply do not exist for the analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

MIN_PARTICIPANTS = 3  # k-means with k >= 2 and a silhouette need at least three points
BASE_CLUSTERS = 100  # Polis's base-k
BASE_ITERATIONS = 100  # Polis's base-iters
GROUP_STARTS = 100  # k-means++ starts per k when grouping the base clusters
GROUP_ITERATIONS = 100  # Polis's group-iters
Z_90 = 1.2816  # one-sided 90% z, Polis's z-sig-90
MAX_REPRESENTATIVE = 5
MAX_CONSENSUS = 5
SVD_POWER_ITERATIONS = 7
SVD_OVERSAMPLES = 10
EXACT_SVD_SIDE = 1000  # below this many comments (or participants) the components are computed exactly
EXACT_SVD_CELLS = 4_000_000  # ... if the dense matrix stays this small (32 MB)
BASE_SAMPLE = 20_000  # base clusters are fitted on at most this many positions


def opinion_groups(
    participants: np.ndarray,
    comments: np.ndarray,
    values: np.ndarray,
    *,
    min_votes: int = 7,
    max_groups: int = 5,
    seed: int = 0,
    max_points: int = 2000,
    rejected: np.ndarray | None = None,
) -> dict[str, Any]:
    """Opinion groups of the participants, the comments that characterise each group, the comments all
    groups agree on and 2-D positions for a chart, from one vote per (participant, comment).

    ``participants`` and ``comments`` are ids (any int64), ``values`` 1 agree, -1 disagree, 0 pass; on a
    repeated (participant, comment) the last vote counts. The result holds only plain ints, floats, strings
    and lists (``json.dumps`` works). Degenerate input gives a status other than ``ok``, never an exception;
    malformed input (arrays of different lengths, a vote that is not -1, 0 or 1, a parameter out of range)
    raises ``ValueError``.
    """
    return analyse(participants, comments, values, min_votes=min_votes, max_groups=max_groups, seed=seed,
                   max_points=max_points, rejected=rejected).result


@dataclass
class OpinionAnalysis:
    """``opinion_groups``'s result, with the group of every clustered participant (which the JSON result
    leaves out: it names no one)."""

    result: dict[str, Any]
    participant_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # clustered, sorted
    groups: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # 1-based, 0 if not grouped
    positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # unscaled, as clustered


def analyse(
    participants: np.ndarray,
    comments: np.ndarray,
    values: np.ndarray,
    *,
    min_votes: int = 7,
    max_groups: int = 5,
    seed: int = 0,
    max_points: int = 2000,
    rejected: np.ndarray | None = None,
) -> OpinionAnalysis:
    """``opinion_groups`` (same arguments), also giving each clustered participant's group."""
    if min_votes < 1 or max_groups < 2 or max_points < 0:
        raise ValueError("min_votes must be >= 1, max_groups >= 2 and max_points >= 0")
    participants = np.asarray(participants, dtype=np.int64).ravel()
    comments = np.asarray(comments, dtype=np.int64).ravel()
    values = np.asarray(values).ravel()
    if not (len(participants) == len(comments) == len(values)):
        raise ValueError("participants, comments and values must have the same length")
    if len(values) and (values.min() < -1 or values.max() > 1 or not np.array_equal(values, np.rint(values))):
        raise ValueError("values must be 1 (agree), -1 (disagree) or 0 (pass)")
    values = values.astype(np.int8, copy=False)

    matrix = _VoteMatrix.build(participants, comments, values, rejected)
    del participants, comments, values
    result = _empty(matrix)
    if matrix.votes == 0:
        result["status"] = "no_votes"
        return OpinionAnalysis(result)
    if matrix.shape[1] < 2:
        result["status"] = "too_few_comments"
        return OpinionAnalysis(result)

    threshold = min(min_votes, matrix.shape[1])
    in_conv = np.flatnonzero(matrix.row_votes >= threshold)
    result["participants"] = int(len(in_conv))
    clustered = matrix.participant_ids[in_conv]
    not_grouped = np.zeros(len(in_conv), dtype=np.int64)
    if len(in_conv) < MIN_PARTICIPANTS:
        result["status"] = "too_few_participants"
        return OpinionAnalysis(result, clustered, not_grouped)

    positions, explained = _positions(matrix, in_conv, seed)
    result["explained_variance"] = [_round(x) for x in explained]
    base_of, centres, weights = _base_clusters(positions, seed)
    if len(centres) < 2:  # everyone in one place: nothing separates anyone
        result["status"] = "too_few_participants"
        return OpinionAnalysis(result, clustered, not_grouped, positions)

    base_groups, silhouette = _group_base_clusters(centres, weights, max_groups, seed)
    labels = _number_by_size(base_groups[base_of])
    k = int(labels.max()) + 1
    counts = _group_counts(matrix, in_conv, labels, k)

    result.update(
        status="ok",
        k=k,
        silhouette=_round(silhouette),
        groups=[
            {"id": g + 1, "size": int(np.count_nonzero(labels == g)), "representative": reps}
            for g, reps in enumerate(_representative(counts, matrix.comment_ids))
        ],
        consensus=_consensus(counts, matrix.comment_ids),
        points=_points(positions, labels, max_points, seed),
    )
    return OpinionAnalysis(result, clustered, labels + 1, positions)


def consensus_for_groups(
    participants: np.ndarray,
    comments: np.ndarray,
    values: np.ndarray,
    member_ids: np.ndarray,
    member_groups: np.ndarray,
    *,
    rejected: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The consensus comments (same rule and format as ``opinion_groups``'s) for a grouping given from
    outside, e.g. another tool's: participant ``member_ids[i]`` is in group ``member_groups[i]`` (any ints);
    votes of participants not listed are left out."""
    matrix = _VoteMatrix.build(np.asarray(participants, dtype=np.int64), np.asarray(comments, dtype=np.int64),
                               np.asarray(values).astype(np.int8), rejected)
    member_ids = np.asarray(member_ids, dtype=np.int64)
    ids = matrix.participant_ids
    if not len(ids) or not len(member_ids):
        return []
    rows = np.minimum(np.searchsorted(ids, member_ids), len(ids) - 1)
    known = ids[rows] == member_ids
    if not known.any():
        return []
    _, labels = np.unique(np.asarray(member_groups)[known], return_inverse=True)
    labels = labels.ravel()
    return _consensus(_group_counts(matrix, rows[known], labels, int(labels.max()) + 1), matrix.comment_ids)


# --- the vote matrix ------------------------------------------------------------------------------------------

class _VoteMatrix:
    """The deduplicated votes in CSR form with the counts every later step needs."""

    def __init__(self, csr: sparse.csr_matrix, participant_ids: np.ndarray, comment_ids: np.ndarray,
                 participants_total: int, zeroed_columns: int) -> None:
        self.csr = csr  # votes as stored: 1, -1, and an explicit 0 for a pass
        self.participant_ids = participant_ids
        self.comment_ids = comment_ids
        self.row_votes = np.diff(csr.indptr)
        self.participants_total = participants_total
        self.zeroed_columns = zeroed_columns
        self.shape = csr.shape
        self.votes = int(csr.nnz)

    @classmethod
    def build(cls, participants: np.ndarray, comments: np.ndarray, values: np.ndarray,
              rejected: np.ndarray | None) -> "_VoteMatrix":
        participant_ids, rows = _dense_ids(participants)
        zeroed = 0
        if rejected is not None and len(comments):
            out = np.isin(comments, np.unique(np.asarray(rejected, dtype=np.int64)))
            if out.any():
                # Polis has a (zeroed) column for a rejected comment only if someone voted on it
                zeroed = int(len(np.unique(comments[out])))
                keep = ~out
                rows, comments, values = rows[keep], comments[keep], values[keep]
        comment_ids, cols = _dense_ids(comments)
        n, m = len(participant_ids), len(comment_ids)
        source, cells = _last_votes(rows * max(m, 1) + cols)
        del rows, cols
        data = values[source].astype(np.float64)
        del source
        row_of = cells // max(m, 1)
        indices = (cells - row_of * max(m, 1)).astype(np.int32 if m < 2**31 else np.int64)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n), out=indptr[1:])
        del cells, row_of
        # Built from its arrays (already in CSR order) the matrix keeps the explicit zeros of passes.
        csr = sparse.csr_matrix((data, indices, indptr), shape=(n, m))
        # A participant whose only votes were on rejected comments keeps an empty row: a voter, never clustered.
        return cls(csr, participant_ids, comment_ids, n, zeroed)


def _dense_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ids, index of each id in them): ``np.unique(ids, return_inverse=True)`` without its
    argsort, which dominates the time on millions of votes."""
    count = len(ids)
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(ids.min())
    span = int(ids.max()) - low + 1
    if span <= 4 * count + 1024:
        # Database ids are dense: a presence table over their range is a counting sort.
        present = np.zeros(span, dtype=bool)
        offsets = ids - low
        present[offsets] = True
        index_of = np.cumsum(present, dtype=np.int64 if span >= 2**31 else np.int32) - 1
        return np.flatnonzero(present) + low, index_of[offsets].astype(np.int64)
    if span < 2**62 // count:
        # Sorting (offset, position) pairs packed in one int64 is a plain sort, several times faster than argsort.
        packed = (ids - low) * count + np.arange(count)
        packed.sort()
        offsets = packed // count
        positions = packed - offsets * count
        first = np.ones(count, dtype=bool)
        first[1:] = offsets[1:] != offsets[:-1]
        index = np.empty(count, dtype=np.int64)
        index[positions] = np.cumsum(first) - 1
        return offsets[first] + low, index
    unique, index = np.unique(ids, return_inverse=True)
    return unique, index.ravel().astype(np.int64)


def _last_votes(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each distinct cell (row * columns + column) in increasing order, the position of its last
    occurrence: (positions, cells). Sorted cells are the CSR order; the last occurrence is the vote that counts."""
    count = len(cells)
    if count == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if int(cells.max()) < 2**62 // count:
        packed = cells * count + np.arange(count)  # ties broken by position, so an unstable sort will do
        packed.sort()
        sorted_cells = packed // count
        positions = packed - sorted_cells * count
    else:
        order = np.argsort(cells, kind="stable")
        sorted_cells, positions = cells[order], order
    last = np.ones(count, dtype=bool)
    last[:-1] = sorted_cells[1:] != sorted_cells[:-1]
    return positions[last], sorted_cells[last]


def _empty(matrix: _VoteMatrix) -> dict[str, Any]:
    return {
        "status": "no_votes",
        "participants": 0,
        "participants_total": matrix.participants_total,
        "comments": int(matrix.shape[1]),
        "votes": matrix.votes,
        "k": 0,
        "silhouette": None,
        "explained_variance": [0.0, 0.0],
        "groups": [],
        "consensus": [],
        "points": [],
    }


# --- positions ------------------------------------------------------------------------------------------------

def _positions(matrix: _VoteMatrix, in_conv: np.ndarray, seed: int) -> tuple[np.ndarray, list[float]]:
    """The clustered participants' scaled 2-D positions, and the share of variance of each component."""
    csr = matrix.csr
    n, m = csr.shape
    counts = np.bincount(csr.indices, minlength=m)
    means = np.bincount(csr.indices, weights=csr.data, minlength=m) / np.maximum(counts, 1)
    centred = sparse.csr_matrix((csr.data - means[csr.indices], csr.indices, csr.indptr), shape=(n, m))
    total = float(np.dot(centred.data, centred.data))
    if total <= 1e-12 * max(matrix.votes, 1):  # everyone voted alike on every comment
        return np.zeros((len(in_conv), 2)), [0.0, 0.0]
    components, singular = _leading_components(centred, seed)
    explained = [float(min(s * s / total, 1.0)) for s in singular]
    positions = np.asarray(centred @ components.T)[in_conv]
    zeroed = matrix.zeroed_columns
    scale = np.sqrt((m + zeroed) / (matrix.row_votes[in_conv] + zeroed))
    return positions * scale[:, None], explained


def _leading_components(centred: sparse.csr_matrix, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The two leading right singular vectors (2 x comments) and singular values of the centred matrix.

    Exact (an eigendecomposition of the smaller Gram matrix) when the matrix is small; otherwise randomized
    subspace iteration (Halko, Martinsson and Tropp), which on a sparse matrix costs a few sparse products
    and converges quickly when the two leading components stand out, as they do in opinion data.
    """
    n, m = centred.shape
    if min(n, m) <= EXACT_SVD_SIDE and n * m <= EXACT_SVD_CELLS:
        dense = centred.toarray()
        if m <= n:
            eigenvalues, vectors = np.linalg.eigh(dense.T @ dense)
            top = np.argsort(eigenvalues)[::-1][:2]
            components = vectors[:, top].T
            singular = np.sqrt(np.maximum(eigenvalues[top], 0.0))
        else:
            eigenvalues, vectors = np.linalg.eigh(dense @ dense.T)
            top = np.argsort(eigenvalues)[::-1][:2]
            singular = np.sqrt(np.maximum(eigenvalues[top], 0.0))
            components = (dense.T @ vectors[:, top] / np.where(singular > 0, singular, 1.0)).T
    else:
        width = min(2 + SVD_OVERSAMPLES, n, m)
        basis = _orthonormal(np.random.default_rng(seed).standard_normal((n, width)))
        for _ in range(SVD_POWER_ITERATIONS):
            basis = _orthonormal(centred @ (centred.T @ basis))
        projected = np.asarray(centred.T @ basis)  # comments x width: the small factor B, transposed
        eigenvalues, vectors = np.linalg.eigh(projected.T @ projected)
        top = np.argsort(eigenvalues)[::-1][:2]
        singular = np.sqrt(np.maximum(eigenvalues[top], 0.0))
        components = (projected @ vectors[:, top] / np.where(singular > 0, singular, 1.0)).T
    if components.shape[0] < 2:
        components = np.vstack([components, np.zeros((2 - components.shape[0], m))])
        singular = np.concatenate([singular, np.zeros(2 - len(singular))])
    # A component's sign is arbitrary: fix it (largest entry positive) so the chart does not flip between runs.
    largest = np.abs(components).argmax(1)
    signs = np.sign(components[np.arange(2), largest])
    return components * np.where(signs == 0, 1.0, signs)[:, None], singular


def _orthonormal(block: np.ndarray) -> np.ndarray:
    """An orthonormal basis of a tall block's columns: Cholesky QR, twice (stable when the block is well
    conditioned, and ten times faster than Householder QR on a tall block); Householder when it is not."""
    from scipy.linalg import qr, solve_triangular

    result = block
    try:
        for _ in range(2):
            lower = np.linalg.cholesky(result.T @ result)
            result = solve_triangular(lower, result.T, lower=True, check_finite=False).T
        if np.abs(result.T @ result - np.eye(result.shape[1])).max() < 1e-8:
            return result
    except np.linalg.LinAlgError:
        pass
    return qr(block, mode="economic", check_finite=False)[0]


# --- clustering -----------------------------------------------------------------------------------------------

def _base_clusters(positions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base cluster of each position, centres, sizes): k-means with BASE_CLUSTERS clusters, or the
    distinct positions themselves when there are no more than that."""
    rounded = np.round(positions, 9)  # positions equal but for float noise are one place
    distinct, inverse = np.unique(rounded[:, 0] + 1j * rounded[:, 1], return_inverse=True)
    inverse = inverse.ravel()
    if len(distinct) <= BASE_CLUSTERS:
        centres = np.column_stack([distinct.real, distinct.imag])
        return inverse, centres, np.bincount(inverse, minlength=len(distinct)).astype(np.float64)
    from sklearn.cluster import KMeans

    # Base clusters only summarise the positions: fitting them on a (seeded) sample of a huge conversation and
    # then assigning everyone changes nothing visible and bounds the time.
    sample = positions
    if len(positions) > BASE_SAMPLE:
        sample = positions[np.random.default_rng(seed).choice(len(positions), BASE_SAMPLE, replace=False)]
    model = KMeans(BASE_CLUSTERS, n_init=1, max_iter=BASE_ITERATIONS, random_state=seed).fit(sample)
    labels = model.predict(positions) if sample is not positions else model.labels_
    sizes = np.bincount(labels, minlength=BASE_CLUSTERS)
    used = sizes > 0
    renumber = np.cumsum(used) - 1
    sums = np.stack([np.bincount(labels, weights=positions[:, d], minlength=BASE_CLUSTERS) for d in range(2)], 1)
    centres = sums[used] / sizes[used][:, None]
    return renumber[labels], centres, sizes[used].astype(np.float64)


def _group_base_clusters(centres: np.ndarray, weights: np.ndarray, max_groups: int,
                         seed: int) -> tuple[np.ndarray, float]:
    """The group of each base cluster and the partition's silhouette: the best silhouette over k and over
    GROUP_STARTS weighted k-means runs per k."""
    b = len(centres)
    if b == 2:  # two places: each participant is at distance 0 from its own group, a perfect split
        return np.array([0, 1]), 1.0
    distances = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1))
    largest_k = min(max_groups, 2 + b // 12, b - 1)
    rng = np.random.default_rng(seed)
    best: tuple[float, int, float, np.ndarray] | None = None
    for k in range(2, largest_k + 1):
        seen: set[bytes] = set()
        for labels, inertia in _weighted_kmeans(centres, weights, k, GROUP_STARTS, rng):
            labels = _canonical(labels)
            token = labels.tobytes()
            if token in seen:
                continue
            seen.add(token)
            groups = int(labels.max()) + 1
            if groups < 2:
                continue
            score = _silhouette(distances, labels, groups)
            # Ties go to fewer groups, then to the tighter partition, so the choice does not depend on order.
            candidate = (score, -groups, -inertia, labels)
            if best is None or candidate[:3] > best[:3]:
                best = candidate
    if best is None:  # every run collapsed to one cluster: split off the farthest base cluster
        labels = np.zeros(b, dtype=np.int64)
        labels[int(np.argmax(distances[0]))] = 1
        return labels, _silhouette(distances, labels, 2)
    return best[3], best[0]


def _weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, starts: int,
                     rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    """Lloyd's algorithm from ``starts`` weighted k-means++ seedings, all starts advanced together."""
    n = len(points)
    centres = np.empty((starts, k, points.shape[1]))
    for s in range(starts):
        chosen = [int(rng.choice(n, p=weights / weights.sum()))]
        nearest = ((points - points[chosen[0]]) ** 2).sum(1)
        for _ in range(1, k):
            mass = weights * nearest
            total = mass.sum()
            pick = int(rng.choice(n, p=mass / total)) if total > 0 else int(rng.integers(n))
            chosen.append(pick)
            nearest = np.minimum(nearest, ((points - points[pick]) ** 2).sum(1))
        centres[s] = points[chosen]
    labels = np.zeros((starts, n), dtype=np.int64)
    for _ in range(GROUP_ITERATIONS):
        d2 = ((points[None, :, None, :] - centres[:, None, :, :]) ** 2).sum(-1)  # starts x n x k
        new_labels = d2.argmin(-1)
        one_hot = (new_labels[..., None] == np.arange(k)) * weights[None, :, None]  # starts x n x k
        mass = one_hot.sum(1)  # starts x k
        sums = np.einsum("snk,nd->skd", one_hot, points)
        # An emptied cluster keeps its centre (and so stays empty): Polis drops it, which is the same.
        centres = np.where(mass[..., None] > 0, sums / np.maximum(mass, 1e-300)[..., None], centres)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    d2 = ((points[None, :, None, :] - centres[:, None, :, :]) ** 2).sum(-1)
    inertia = (np.take_along_axis(d2, labels[..., None], -1)[..., 0] * weights).sum(1)
    return [(labels[s], float(inertia[s])) for s in range(starts)]


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, ... in order of first appearance, so equal partitions compare equal."""
    _, first = np.unique(labels, return_index=True)
    mapping = np.empty(labels.max() + 1, dtype=np.int64)
    mapping[labels[np.sort(first)]] = np.arange(len(first))
    return mapping[labels]


def _silhouette(distances: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean silhouette (as sklearn's silhouette_score: a point alone in its cluster scores 0)."""
    one_hot = labels[:, None] == np.arange(k)
    sizes = one_hot.sum(0)
    sums = distances @ one_hot  # n x k: total distance of each point to each cluster
    own = sizes[labels]
    a = np.where(own > 1, sums[np.arange(len(labels)), labels] / np.maximum(own - 1, 1), 0.0)
    mean_to = sums / np.maximum(sizes, 1)
    mean_to[np.arange(len(labels)), labels] = np.inf
    mean_to[:, sizes == 0] = np.inf
    b = mean_to.min(1)
    denominator = np.maximum(a, b)
    s = np.where((own > 1) & (denominator > 0), (b - a) / np.where(denominator > 0, denominator, 1), 0.0)
    return float(s.mean())


def _number_by_size(labels: np.ndarray) -> np.ndarray:
    """Groups renumbered 0.. by decreasing size (ties: the group whose first member comes first)."""
    _, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    present = np.unique(labels)
    order = sorted(range(len(present)), key=lambda i: (-sizes[i], first[i]))
    mapping = np.empty(labels.max() + 1, dtype=np.int64)
    mapping[present[order]] = np.arange(len(present))
    return mapping[labels]


# --- comments characterising the groups -----------------------------------------------------------------------

class _Counts:
    """Per group and comment: agree, disagree and total votes (passes included) of the group's members."""

    def __init__(self, agree: np.ndarray, disagree: np.ndarray, seen: np.ndarray) -> None:
        self.agree, self.disagree, self.seen = agree, disagree, seen


def _group_counts(matrix: _VoteMatrix, in_conv: np.ndarray, labels: np.ndarray, k: int) -> _Counts:
    csr = matrix.csr
    m = csr.shape[1]
    group_of_row = np.full(csr.shape[0], -1, dtype=np.int8 if k < 127 else np.int64)
    group_of_row[in_conv] = labels
    group_of_vote = np.repeat(group_of_row, np.diff(csr.indptr))
    agree, disagree, seen = (np.zeros((k, m), dtype=np.int64) for _ in range(3))
    for g in range(k):
        chosen = group_of_vote == g
        columns, votes = csr.indices[chosen], csr.data[chosen]
        seen[g] = np.bincount(columns, minlength=m)
        agree[g] = np.bincount(columns[votes > 0], minlength=m)
        disagree[g] = np.bincount(columns[votes < 0], minlength=m)
    return _Counts(agree, disagree, seen)


def _prop_test(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Polis's one-proportion z-statistic against 1/2, with one pseudo-count added to each count."""
    return 2.0 * np.sqrt(trials + 1.0) * ((successes + 1.0) / (trials + 1.0) - 0.5)


def _two_prop_test(succ_in: np.ndarray, succ_out: np.ndarray, pop_in: np.ndarray, pop_out: np.ndarray) -> np.ndarray:
    """Polis's two-proportion z-statistic (group against the rest), with one pseudo-count added to each count."""
    succ_in, succ_out, pop_in, pop_out = succ_in + 1.0, succ_out + 1.0, pop_in + 1.0, pop_out + 1.0
    pi1, pi2 = succ_in / pop_in, succ_out / pop_out
    pi_hat = (succ_in + succ_out) / (pop_in + pop_out)
    variance = pi_hat * (1.0 - pi_hat) * (1.0 / pop_in + 1.0 / pop_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (pi1 - pi2) / np.sqrt(variance)
    return np.where(variance > 0, z, 0.0)  # Polis returns 0 when everyone agrees


def _share(part: int | np.integer, whole: int | np.integer) -> float:
    return _round(part / whole) if whole else 0.0


def _representative(counts: _Counts, comment_ids: np.ndarray) -> list[list[dict[str, Any]]]:
    result = []
    total_agree, total_disagree, total_seen = counts.agree.sum(0), counts.disagree.sum(0), counts.seen.sum(0)
    for g in range(counts.seen.shape[0]):
        na, nd, ns = counts.agree[g], counts.disagree[g], counts.seen[g]
        na_out, nd_out, ns_out = total_agree - na, total_disagree - nd, total_seen - ns
        pa, pd = (na + 1.0) / (ns + 2.0), (nd + 1.0) / (ns + 2.0)
        pat, pdt = _prop_test(na, ns), _prop_test(nd, ns)
        ra = pa / ((na_out + 1.0) / (ns_out + 2.0))
        rd = pd / ((nd_out + 1.0) / (ns_out + 2.0))
        rat, rdt = _two_prop_test(na, na_out, ns, ns_out), _two_prop_test(nd, nd_out, ns, ns_out)
        agree = rat > rdt
        score = np.where(agree, ra * rat * pa * pat, rd * rdt * pd * pdt)
        passes = ((rat > Z_90) & (pat > Z_90)) | ((rdt > Z_90) & (pdt > Z_90))
        voted = (na + nd) > 0  # a comment the group only passed on says nothing about it
        chosen = np.flatnonzero(passes & voted)
        if len(chosen):
            chosen = chosen[np.lexsort((comment_ids[chosen], -score[chosen]))][:MAX_REPRESENTATIVE]
        else:
            test = np.where(voted, np.maximum(rat, rdt), -np.inf)
            chosen = np.array([int(np.argmax(test))]) if voted.any() else np.array([], dtype=np.int64)
        entries = []
        for c in chosen:
            direction = "agree" if agree[c] else "disagree"
            inside, outside = (na[c], na_out[c]) if agree[c] else (nd[c], nd_out[c])
            entries.append({
                "comment_id": int(comment_ids[c]),
                "direction": direction,
                "group_share": _share(inside, ns[c]),
                "others_share": _share(outside, ns_out[c]),
                "votes": int(ns[c]),
                "score": _round(score[c]),
            })
        result.append(entries)
    return result


def _consensus(counts: _Counts, comment_ids: np.ndarray) -> list[dict[str, Any]]:
    ns = counts.seen
    found: list[tuple[float, int, str, float, int]] = []
    for direction, successes in (("agree", counts.agree), ("disagree", counts.disagree)):
        p = (successes + 1.0) / (ns + 2.0)
        everywhere = ((p > 0.5) & (_prop_test(successes, ns) > Z_90)).all(0)
        product = p.prod(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lowest = np.where(ns > 0, successes / np.maximum(ns, 1), 0.0).min(0)
        for c in np.flatnonzero(everywhere):
            found.append((float(product[c]), int(comment_ids[c]), direction, float(lowest[c]), int(ns[:, c].sum())))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [
        {"comment_id": cid, "direction": direction, "share": _round(share), "votes": votes}
        for _, cid, direction, share, votes in found[:MAX_CONSENSUS]
    ]


# --- points ---------------------------------------------------------------------------------------------------

def _points(positions: np.ndarray, labels: np.ndarray, max_points: int, seed: int) -> list[dict[str, Any]]:
    n = len(positions)
    if n > max_points:
        chosen = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
    else:
        chosen = np.arange(n)
    extent = float(np.abs(positions).max()) if n else 0.0
    scaled = positions[chosen] / extent if extent > 0 else np.zeros((len(chosen), 2))
    scaled = np.clip(scaled, -1.0, 1.0)
    return [
        {"x": _round(x, 4), "y": _round(y, 4), "group": int(g) + 1}
        for (x, y), g in zip(scaled.tolist(), labels[chosen].tolist())
    ]


def _round(value: float | np.floating, digits: int = 6) -> float:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else 0.0
