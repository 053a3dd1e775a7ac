import pytest

from train.config import LabelsConfig
from artclf.errors import ArtclfError
from train.data.weak import fired_rules, load_rules, rule_report, weak_tone, weak_topics

LABELS = LabelsConfig()


def rules_from(tmp_path, body):
    path = tmp_path / "rules.toml"
    path.write_text(body)
    return load_rules(path, LABELS)


def test_keywords_phrases_patterns_and_min_hits(tmp_path):
    rules = rules_from(tmp_path, (
        '[[rule]]\nname = "e"\nlabel = "topics:energy"\nkeywords = ["crude oil", "gas"]\nmin_hits = 2\n'
        '[[rule]]\nname = "t"\nlabel = "topics:territory"\npatterns = ["disputed (islands?|border)"]\n'
        '[[rule]]\nname = "no_e"\nlabel = "!topics:energy"\npatterns = ["olive oil"]\n'
    ))
    assert fired_rules(rules, "Crude  oil and GAS rose") == {"e": 2}
    assert fired_rules(rules, "gasoline rose") == {}  # whole words only
    fired = fired_rules(rules, "crude oil, gas and olive oil near the disputed islands")
    assert weak_topics(rules, fired, LABELS.topics) == (("territory",), "rules:t")


def test_weak_tone_majority_default_and_tie(tmp_path):
    rules = rules_from(tmp_path, (
        '[[rule]]\nname = "p"\nlabel = "tone:positive"\nkeywords = ["success"]\n'
        '[[rule]]\nname = "n"\nlabel = "tone:negative"\nkeywords = ["crisis"]\n'
    ))
    assert weak_tone(rules, {"p": 2, "n": 1}) == ("positive", "rules:p")
    assert weak_tone(rules, {}) == ("neutral", "rules:default")
    assert weak_tone(rules, {"p": 1, "n": 1}) == ("neutral", "rules:tie")


def test_rule_report_multilabel_precision_recall_overlap_conflict(tmp_path):
    rules = rules_from(tmp_path, (
        '[[rule]]\nname = "e1"\nlabel = "topics:energy"\nkeywords = ["oil"]\n'
        '[[rule]]\nname = "e2"\nlabel = "topics:energy"\nkeywords = ["gas"]\n'
        '[[rule]]\nname = "not_e"\nlabel = "!topics:energy"\nkeywords = ["olive"]\n'
    ))
    texts = ["oil gas", "oil", "olive oil", "nothing"]
    gold = [(("energy",), "neutral"), (("energy", "diplomacy"), "neutral"), ((), "neutral"), None]
    report = rule_report(rules, [fired_rules(rules, t) for t in texts], gold, LABELS)
    e1 = report["rules"]["e1"]
    assert e1["coverage"] == 0.75 and e1["fires"] == 3
    assert e1["precision"] == round(2 / 3, 4) and e1["recall"] == 1.0
    # As in Snorkel, overlap counts any other rule on the same label firing (agreeing or not):
    # e2 on "oil gas", not_e on "olive oil"; conflicts are the disagreeing part.
    assert e1["overlap"] == 0.5
    assert e1["conflict"] == 0.25  # with not_e on "olive oil"
    assert report["rules"]["not_e"]["precision"] == 1.0
    assert report["labels"]["topics:energy"]["coverage"] == 0.75


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[rule]]\nname = "x"\nlabel = "topics:sport"\nkeywords = ["a"]\n', "rule 'x': label 'topics:sport' must be"),
        ('[[rule]]\nname = "x"\nlabel = "topics:energy"\n', "rule 'x': needs keywords or patterns"),
        ('[[rule]]\nname = "x"\nlabel = "topics:energy"\npatterns = ["(unclosed"]\n', "rule 'x': bad pattern"),
        ('[[rule]]\nname = "x"\nlabel = "topics:energy"\nkeywords = ["a"]\nmin_hits = 0\n', "min_hits must be an integer >= 1"),
        ('[[rule]]\nname = "x"\nlabel = "!tone:negative"\nkeywords = ["a"]\n', "only topic rules can be negated"),
        ('[[rule]]\nname = "x"\nlabel = "topics:energy"\nkeyword = ["a"]\n', "unknown key(s) keyword"),
        ('[[rule]]\nlabel = "topics:energy"\nkeywords = ["a"]\n', "rule 1: needs a name"),
    ],
)
def test_bad_rules_name_the_file_and_rule(tmp_path, body, message):
    with pytest.raises(ArtclfError, match=r"rules.toml: .*" + __import__("re").escape(message)):
        rules_from(tmp_path, body)


def test_shipped_rules_load():
    from pathlib import Path

    rules = load_rules(Path(__file__).resolve().parents[1] / "configs" / "rules" / "lexicons.toml", LABELS)
    assert {r.label for r in rules} >= {"diplomacy", "energy", "territory", "positive", "negative"}
