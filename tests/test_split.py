import random
from collections import Counter


from train.data.dedup import duplicate_groups, exact_duplicates, near_duplicate_pairs
from train.data.split import iterative_stratification, time_split


def _label_sets(n=300, seed=0):
    rng = random.Random(seed)
    sets = []
    for _ in range(n):
        labs = [lab for lab, p in (("a", 0.4), ("b", 0.2), ("c", 0.05)) if rng.random() < p]
        sets.append(labs + [rng.choice(["tone:x", "tone:y", "tone:z"])])
    return sets


def test_iterative_stratification_keeps_label_shares():
    sets = _label_sets()
    parts = iterative_stratification(sets, [0.7, 0.1, 0.2], seed=1)
    for label in ("a", "b", "c", "tone:x"):
        total = sum(label in s for s in sets)
        for part, frac in enumerate((0.7, 0.1, 0.2)):
            got = sum(label in s for s, p in zip(sets, parts) if p == part)
            assert abs(got - frac * total) <= 1.5, (label, part, got, frac * total)
    sizes = Counter(parts)
    assert abs(sizes[0] - 210) <= 3 and abs(sizes[2] - 60) <= 3


def test_iterative_stratification_is_deterministic_and_seeded():
    sets = _label_sets()
    assert iterative_stratification(sets, [0.8, 0.2], 5) == iterative_stratification(sets, [0.8, 0.2], 5)
    assert iterative_stratification(sets, [0.8, 0.2], 5) != iterative_stratification(sets, [0.8, 0.2], 6)


def test_groups_stay_together():
    sets = _label_sets(100)
    groups = [i // 3 for i in range(100)]
    parts = iterative_stratification(sets, [0.6, 0.4], 3, groups)
    for g in set(groups):
        assert len({p for p, gg in zip(parts, groups) if gg == g}) == 1


def test_time_split_puts_newest_last_and_keeps_groups():
    dates = [f"2020-01-{d:02d}" for d in range(1, 11)]
    groups = list(range(10))
    groups[9] = 0  # the newest article duplicates the oldest: both must go to test
    parts = time_split(dates, [0.6, 0.2, 0.2], groups)
    assert parts[0] == parts[9] == 2
    assert parts[1] == 0 and parts[8] == 1
    assert all(a <= b for a, b in zip(parts[1:9], parts[2:9]))


def test_exact_duplicates_ignore_case_and_punctuation():
    texts = ["Oil prices rose.", "Talks ended.", "OIL prices  rose!"]
    assert exact_duplicates(texts) == {2: 0}


def test_planted_near_duplicate_is_found_and_grouped():
    base = " ".join(f"word{i}" for i in range(200))
    edited = base.replace("word50", "changed").replace("word150", "altered") + " with a new ending"
    other = " ".join(f"other{i}" for i in range(200))
    pairs = near_duplicate_pairs([base, other, edited], threshold=0.6)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2)]
    assert duplicate_groups(3, pairs) == [0, 1, 0]
