"""Opinion groups, evaluated against Polis's own groups on real Polis conversations and timed on synthetic votes.

    python -m bench.evaluate_opinions [--data ../shared/data] [--seed 0]
    python -m bench.evaluate_opinions --synthetic [--votes 5000000]

Each folder of ``polis/`` is one conversation exported by Polis. Its votes (``votes.csv``) are sorted by
timestamp, so that where a participant voted twice on a comment the last vote counts, and given to
``consult.reports.opinion`` as they are; the comments a moderator rejected (``moderated`` -1 in
``comments.csv``) are passed as ``rejected``: their votes are left out of the analysis, but, as Polis keeps
such a comment as a column of zeros, each still counts in the sparsity scaling ``sqrt(comments / votes)`` (see
the module's docstring). The same is also run with the rejected comments' votes simply dropped
("ARI dropped"), which is what the platform does when it never sends them.

The groups are compared with ``group-id`` of ``participants-votes.csv`` (the groups Polis computed and
showed) by the adjusted Rand index over the participants both place in a group. Consensus: the export does
not say which statements Polis called consensus, so the reference is computed from Polis's own groups with
the rule the module applies to its own (every group agrees, or every group disagrees, by a significant
majority; ranked by the product over groups of ``(agree + 1) / (votes + 2)``, Polis's group-aware consensus);
the overlap of the two top-5 lists (ours from our groups, the reference from Polis's) is reported.

Two diagnostics say why a conversation can disagree with Polis. "Polis <7": the share of the participants
Polis grouped who have fewer than 7 votes; today's Polis (and this module) clusters only participants with at
least 7, but Polis never removes a participant once clustered, and earlier versions clustered everyone, so
these exports carry groups computed with another rule (football-concussions: 59% of Polis's grouped
participants, affordable-housing: 23%). "sil Polis/ours": the silhouette of Polis's groups and of ours, both
measured on our 2-D positions of the participants both grouped; when Polis's groups have a silhouette near 0
on the plane of the principal components (london.youth.policing: 0.11), they are not a partition of the
opinion plane that any clustering of it can return: they reflect the state Polis carries from run to run
(earlier clusters as starting points, a number of groups that changes only after winning four runs in a
row) over the history of the conversation, which a single computation from the final votes does not have.

Results (seed 0; seeds 1 to 4 give a mean ARI between 0.684 and 0.696): ARI 0.941, 0.896, 1.000, 0.172, 0.178,
0.735 and 0.884 (15-per-hour-seattle, brexit-consensus, canadian-electoral-reform, football-concussions,
london.youth.policing, scoop-hivemind.affordable-housing, scoop-hivemind.biodiversity), mean 0.686; 0.590 with
the rejected comments' votes dropped instead of kept as Polis keeps them. Polis's number of groups is found in
5 of 7. Of the 26 reference consensus statements, 22 are in our top 5 lists. The four conversations whose
groups Polis computed under today's rule and which its groups separate on the plane average 0.930; the three
others are the ones the diagnostics above explain.

``--synthetic`` times ``opinion_groups`` on two synthetic conversations of ``--votes`` votes (by default
5,000,000): 200,000 participants x 1,000,000 comments and 50,000 x 5,000, each in a fresh process restricted
to one thread (OMP_NUM_THREADS=1 and the BLAS equivalents), the votes read from files written beforehand so
that the peak resident memory (VmHWM) measured after the call, less the resident memory (VmRSS) just before
it, is what the analysis itself added. Participants belong to three planted groups; 70% of the votes go to
the 2,000 most discussed comments and the rest anywhere; a vote follows the participant's group with
probability 0.85, and 10% are passes. scikit-learn is imported before the clock starts (importing it takes
2 to 3 s once per process). Measured on this 2-core machine shared with other work (load average near 10):
200,000 x 1,000,000 in 6.3 s (5.5 s of CPU), +347 MiB, ARI 0.894 with the planted groups; 50,000 x 5,000 in
3.0 s (2.2 s of CPU), +326 MiB, ARI 1.000. Wall-clock time under heavier load was up to 19 s for the first.

The last line printed is one JSON object with every figure. Exit status 2 when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from consult.reports import opinion

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
FOLDER = "polis"
POLIS_MIN_VOTES = 7
SYNTHETIC_SHAPES = ((200_000, 1_000_000), (50_000, 5_000))

csv.field_size_limit(10_000_000)


# --- data -----------------------------------------------------------------------------------------------------

@dataclass
class Conversation:
    name: str
    participants: np.ndarray  # votes in time order
    comments: np.ndarray
    values: np.ndarray
    rejected: np.ndarray  # comment ids a moderator rejected
    polis_group: dict[int, int]  # participant -> Polis's group, for those Polis grouped
    polis_k: int  # the number of groups summary.csv states


def read_conversation(folder: Path) -> Conversation:
    with (folder / "votes.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(int(r["timestamp"]), int(r["voter-id"]), int(r["comment-id"]), int(r["vote"])) for r in csv.DictReader(handle)]
    rows.sort(key=lambda row: row[0])  # stable: votes of one instant keep their file order
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as handle:
        rejected = sorted(int(r["comment-id"]) for r in csv.DictReader(handle) if r["moderated"].strip() == "-1")
    with (folder / "participants-votes.csv").open(newline="", encoding="utf-8") as handle:
        groups = {int(r["participant"]): int(r["group-id"]) for r in csv.DictReader(handle) if r["group-id"].strip() != ""}
    with (folder / "summary.csv").open(newline="", encoding="utf-8") as handle:
        summary = {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}
    return Conversation(
        name=folder.name,
        participants=np.array([r[1] for r in rows], dtype=np.int64),
        comments=np.array([r[2] for r in rows], dtype=np.int64),
        values=np.array([r[3] for r in rows], dtype=np.int8),
        rejected=np.array(rejected, dtype=np.int64),
        polis_group=groups,
        polis_k=int(summary.get("groups") or len(set(groups.values()))),
    )


def conversations(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "votes.csv").is_file()
                  and (p / "participants-votes.csv").is_file())


# --- real conversations ---------------------------------------------------------------------------------------

def _ari(analysis: opinion.OpinionAnalysis, polis_group: dict[int, int]) -> tuple[float, np.ndarray]:
    from sklearn.metrics import adjusted_rand_score

    both = np.array([int(p) in polis_group for p in analysis.participant_ids], dtype=bool)
    if not both.any():
        return 0.0, both
    truth = [polis_group[int(p)] for p in analysis.participant_ids[both]]
    return float(adjusted_rand_score(truth, analysis.groups[both])), both


def _silhouette(positions: np.ndarray, labels: list[int] | np.ndarray) -> float | None:
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    if len(set(labels.tolist())) < 2 or len(labels) < 3:
        return None
    return float(silhouette_score(positions, labels))


def evaluate_conversation(conv: Conversation, seed: int) -> dict:
    started = time.perf_counter()
    analysis = opinion.analyse(conv.participants, conv.comments, conv.values, seed=seed, rejected=conv.rejected)
    seconds = time.perf_counter() - started
    result = analysis.result
    ari, both = _ari(analysis, conv.polis_group)

    kept = ~np.isin(conv.comments, conv.rejected)
    dropped = opinion.analyse(conv.participants[kept], conv.comments[kept], conv.values[kept], seed=seed)
    ari_dropped, _ = _ari(dropped, conv.polis_group)

    members = np.array(sorted(conv.polis_group), dtype=np.int64)
    reference = opinion.consensus_for_groups(conv.participants, conv.comments, conv.values, members,
                                             np.array([conv.polis_group[int(p)] for p in members]),
                                             rejected=conv.rejected)
    ours_ids = [c["comment_id"] for c in result["consensus"]]
    reference_ids = [c["comment_id"] for c in reference]
    overlap = len(set(ours_ids) & set(reference_ids))

    # Votes per participant as Polis counts them for its threshold (a comment voted twice counts once)
    pairs = np.unique(np.stack([conv.participants, conv.comments], 1), axis=0)
    voters, counts = np.unique(pairs[:, 0], return_counts=True)
    voted = dict(zip(voters.tolist(), counts.tolist()))
    polis_below = sum(1 for p in conv.polis_group if voted.get(p, 0) < POLIS_MIN_VOTES) / max(len(conv.polis_group), 1)

    positions = analysis.positions[both]
    polis_labels = [conv.polis_group[int(p)] for p in analysis.participant_ids[both]]
    return {
        "voters": result["participants_total"],
        "clustered": result["participants"],
        "polis_grouped": len(conv.polis_group),
        "both_grouped": int(both.sum()),
        "comments": result["comments"],
        "rejected": int(len(conv.rejected)),
        "votes": result["votes"],
        "k": result["k"],
        "polis_k": conv.polis_k,
        "ari": round(ari, 4),
        "ari_rejected_dropped": round(ari_dropped, 4),
        "k_rejected_dropped": dropped.result["k"],
        "silhouette": result["silhouette"],
        "explained_variance": result["explained_variance"],
        "consensus": ours_ids,
        "consensus_reference": reference_ids,
        "consensus_overlap": overlap,
        "polis_grouped_below_7_votes": round(polis_below, 4),
        "silhouette_polis_groups_on_our_plane": _round(_silhouette(positions, polis_labels)),
        "silhouette_our_groups_on_our_plane": _round(_silhouette(positions, analysis.groups[both])),
        "seconds": round(seconds, 3),
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def evaluate_real(folder: Path, seed: int) -> dict:
    print(f"data: {folder}")
    print(f"method: consult.reports.opinion (min_votes 7, max_groups 5, seed {seed}, {opinion.BASE_CLUSTERS} base "
          f"clusters, {opinion.GROUP_STARTS} k-means++ starts per k); rejected comments passed as Polis keeps them")
    header = (f"{'conversation':<34} {'voters':>6} {'ours':>5} {'Polis':>5} {'cmts':>5} {'rej':>4} {'votes':>6} "
              f"{'k':>2} {'Pk':>2} {'ARI':>6} {'ARIdrop':>7} {'cons':>5} {'Polis<7':>7} {'sil Polis/ours':>15}")
    print(header)
    per: dict[str, dict] = {}
    for path in conversations(folder):
        conv = read_conversation(path)
        figures = evaluate_conversation(conv, seed)
        per[conv.name] = figures
        sil = f"{_fmt(figures['silhouette_polis_groups_on_our_plane'])}/{_fmt(figures['silhouette_our_groups_on_our_plane'])}"
        print(f"{conv.name:<34} {figures['voters']:>6} {figures['clustered']:>5} {figures['polis_grouped']:>5} "
              f"{figures['comments']:>5} {figures['rejected']:>4} {figures['votes']:>6} {figures['k']:>2} "
              f"{figures['polis_k']:>2} {figures['ari']:>6.3f} {figures['ari_rejected_dropped']:>7.3f} "
              f"{figures['consensus_overlap']}/{len(figures['consensus_reference']):<3} "
              f"{figures['polis_grouped_below_7_votes']:>7.0%} {sil:>15}")
    mean_ari = float(np.mean([f["ari"] for f in per.values()]))
    mean_dropped = float(np.mean([f["ari_rejected_dropped"] for f in per.values()]))
    overlap = sum(f["consensus_overlap"] for f in per.values())
    reference = sum(len(f["consensus_reference"]) for f in per.values())
    same_k = sum(f["k"] == f["polis_k"] for f in per.values())
    print(f"mean ARI against Polis's group-id: {mean_ari:.3f} (rejected comments' votes simply dropped: {mean_dropped:.3f}); "
          f"same number of groups as Polis in {same_k} of {len(per)}")
    print(f"consensus: {overlap} of the {reference} reference statements (top 5 by the same rule over Polis's own "
          f"groups; the export marks none as consensus) are in our top 5")
    print("columns: ours/Polis = participants each places in a group; k/Pk = groups (ours/Polis); ARIdrop = ARI with "
          "the rejected comments' votes dropped instead; cons = consensus overlap; Polis<7 = share of Polis's grouped "
          "participants with fewer than 7 votes; sil = silhouette of Polis's and of our groups on our 2-D positions")
    return {"mode": "real", "seed": seed, "conversations": list(per), "mean_ari": round(mean_ari, 4),
            "mean_ari_rejected_dropped": round(mean_dropped, 4), "same_k": same_k,
            "consensus_overlap": overlap, "consensus_reference": reference, "per_conversation": per}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# --- synthetic ------------------------------------------------------------------------------------------------

def synthetic_votes(n_participants: int, n_comments: int, n_votes: int, seed: int = 7,
                    groups: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(participants, comments, values, planted group per participant index): see the module docstring."""
    rng = np.random.default_rng(seed)
    sizes = np.arange(groups, 0, -1, dtype=np.float64)  # unequal groups: 3:2:1 for three
    truth = rng.choice(groups, size=n_participants, p=sizes / sizes.sum())
    participants = rng.integers(0, n_participants, n_votes)
    popular = min(2000, n_comments)
    comments = np.where(rng.random(n_votes) < 0.7, rng.integers(0, popular, n_votes), rng.integers(0, n_comments, n_votes))
    stance = np.where(rng.random((groups, n_comments)) < 0.5, 1, -1).astype(np.int8)
    values = stance[truth[participants], comments]
    values = np.where(rng.random(n_votes) < 0.15, -values, values)
    values[rng.random(n_votes) < 0.10] = 0
    # ids as a database would give them: not 0-based, not contiguous with each other
    return participants * 3 + 10_001, comments + 500_000, values.astype(np.int8), truth


def _memory_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    status = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def time_from_files(folder: Path, seed: int) -> dict:
    """Runs in the child process: read the votes, then time and measure one call."""
    from sklearn.cluster import KMeans  # noqa: F401  (imported before the clock: see the docstring)
    from sklearn.metrics import adjusted_rand_score

    participants = np.load(folder / "participants.npy")
    comments = np.load(folder / "comments.npy")
    values = np.load(folder / "values.npy")
    truth = np.load(folder / "truth.npy")
    rss_before, _ = _memory_mib()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    analysis = opinion.analyse(participants, comments, values, seed=seed)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    _, peak = _memory_mib()
    result = analysis.result
    planted = truth[(analysis.participant_ids - 10_001) // 3]
    return {
        "status": result["status"], "participants_total": result["participants_total"],
        "clustered": result["participants"], "comments": result["comments"], "votes": result["votes"],
        "k": result["k"], "silhouette": result["silhouette"], "explained_variance": result["explained_variance"],
        "ari_planted": round(float(adjusted_rand_score(planted, analysis.groups)), 4),
        "seconds": round(seconds, 2),
        "cpu_seconds": round((cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime), 2),
        "rss_before_mib": round(rss_before, 1), "peak_rss_mib": round(peak, 1),
        "extra_memory_mib": round(peak - rss_before, 1),
        "json_bytes": len(json.dumps(result)),
    }


def evaluate_synthetic(n_votes: int, seed: int) -> dict:
    runs = []
    for n_participants, n_comments in SYNTHETIC_SHAPES:
        started = time.perf_counter()
        participants, comments, values, truth = synthetic_votes(n_participants, n_comments, n_votes, seed + 7)
        made = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="opinion-bench-") as tmp:
            folder = Path(tmp)
            for name, array in (("participants", participants), ("comments", comments), ("values", values), ("truth", truth)):
                np.save(folder / f"{name}.npy", array)
            del participants, comments, values, truth
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
            child = subprocess.run(
                [sys.executable, "-m", "bench.evaluate_opinions", "--time-files", str(folder), "--seed", str(seed)],
                cwd=ROOT, env=env, capture_output=True, text=True, check=False,
            )
        if child.returncode != 0:
            raise RuntimeError(f"timing run failed:\n{child.stderr}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        figures.update(participants_made=n_participants, comments_made=n_comments, votes_made=n_votes,
                       seconds_to_make=round(made, 1))
        runs.append(figures)
        print(f"{n_participants:,} participants x {n_comments:,} comments, {n_votes:,} votes drawn "
              f"({figures['votes']:,} distinct pairs, {figures['comments']:,} comments voted on): "
              f"{figures['seconds']:.1f} s ({figures['cpu_seconds']:.1f} s CPU, one thread), "
              f"+{figures['extra_memory_mib']:.0f} MiB peak memory over the {figures['rss_before_mib']:.0f} MiB "
              f"before the call; {figures['clustered']:,} clustered, k {figures['k']}, ARI with the planted "
              f"groups {figures['ari_planted']:.3f}, result {figures['json_bytes']:,} bytes of JSON")
    return {"mode": "synthetic", "seed": seed, "votes": n_votes, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate_opinions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"the shared data folder (holding {FOLDER}/) or {FOLDER}/ itself (default {DEFAULT_DATA})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="time synthetic conversations instead")
    parser.add_argument("--votes", type=int, default=5_000_000, help="votes per synthetic conversation")
    parser.add_argument("--time-files", type=Path, help=argparse.SUPPRESS)  # the timing child's entry point
    args = parser.parse_args(argv)

    if args.time_files:
        print(json.dumps(time_from_files(args.time_files, args.seed)))
        return 0
    if args.synthetic:
        result = evaluate_synthetic(args.votes, args.seed)
    else:
        folder = args.data if args.data.name == FOLDER else args.data / FOLDER
        if not folder.is_dir() or not conversations(folder):
            print(f"no data: {folder} is absent or holds no Polis conversation; pass --data, or --synthetic", file=sys.stderr)
            return 2
        result = evaluate_real(folder, args.seed)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
