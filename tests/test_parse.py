from pathlib import Path

import pytest

from artclf.errors import ArtclfError
from train.data.parse import parse_article, read_article

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_e6234d2784149db6.txt"


def test_original_seed_article_fields():
    a = read_article(SEED)
    assert a.id == "000_e6234d2784149db6"
    assert a.title.startswith("Russian, Japanese foreign ministers discuss peace treaty issue")
    assert a.section == "Russian Politics & Diplomacy"
    assert a.published == "2021-08-11T15:35"
    assert a.lead.startswith("Also, Sergey Lavrov and Toshimitsu Motegi")
    assert a.dateline == "Moscow"
    assert a.agency == "TASS"
    assert a.body.startswith("Russia’s Foreign Minister Sergey Lavrov on Wednesday")
    assert "Read more" not in a.body
    assert a.body.endswith("is beyond doubt.")


@pytest.mark.parametrize(
    "first_paragraph, city, agency, body_start",
    [
        ("TOKYO (Reuters) - Japan said on Monday it would", "Tokyo", "Reuters", "Japan said"),
        ("BRUSSELS, March 3 (AP) — The European Union agreed", "Brussels", "AP", "The European Union"),
        ("BEIJING, May 2 (Xinhua) -- China and Laos signed", "Beijing", "Xinhua", "China and Laos"),
        ("NEW DELHI, Jan 9 (PTI) The government announced", "New Delhi", "PTI", "The government"),
        ("NAIROBI, Kenya — Kenya's energy regulator raised", "Nairobi", None, "Kenya's energy"),
        ("LONDON — Britain's grid operator warned", "London", None, "Britain's grid"),
        ("US officials said the talks would continue", None, None, "US officials said"),
        ("ARMONK, N.Y., April 15 (Reuters) - IBM said profit rose", "Armonk", "Reuters", "IBM said"),
        ("ST. LOUIS, Mo., June 3 - Profit rose", "St. Louis", None, "Profit rose"),
        ("WASHINGTON, D.C. - The talks began", "Washington", None, "The talks began"),
        ("NOTE: figures are unaudited", None, None, "NOTE: figures"),
    ],
)
def test_dateline_styles(first_paragraph, city, agency, body_start):
    a = parse_article(f"A title\n\n{first_paragraph} something.\n\nMore text.", "x")
    assert a.dateline == city
    assert a.agency == agency
    assert a.body.startswith(body_start)


@pytest.mark.parametrize(
    "line, section, published",
    [
        ("World News March 3, 2019, 09:12", "World News", "2019-03-03T09:12"),
        ("Business 11 August 2021", "Business", "2021-08-11"),
        ("Energy 2021-08-11 15:35", "Energy", "2021-08-11T15:35"),
        ("Markets Aug 11, 2021", "Markets", "2021-08-11"),
        ("2020-02-29", None, "2020-02-29"),
    ],
)
def test_section_and_date_forms(line, section, published):
    a = parse_article(f"Title\n\n{line}\n\nLead sentence.\n\nPARIS (AFP) - Body.", "x")
    assert (a.section, a.published) == (section, published)
    assert a.lead == "Lead sentence."


def test_impossible_date_is_not_a_date_line():
    a = parse_article("Title\n\nFebruary 30, 2021\n\nBody text here.", "x")
    assert a.published is None
    assert "February 30, 2021" in a.body


def test_missing_parts_title_and_body_are_enough():
    a = parse_article("Only a title\n\nAnd a body paragraph.", "x")
    assert (a.title, a.body, a.section, a.published, a.lead, a.dateline) == (
        "Only a title", "And a body paragraph.", None, None, None, None)


def test_title_directly_followed_by_body_lines():
    a = parse_article("Headline\nBody on the next line.\n", "x")
    assert a.title == "Headline"
    assert a.body == "Body on the next line."


def test_crlf_bom_and_boilerplate_are_handled():
    raw = "\ufeffTitle\r\n\r\nMOSCOW, May 1. /TASS/. Body.\r\n\r\nReuter\r\n\r\nRead more on the site →\r\n"
    a = parse_article(raw, "x")
    assert a.title == "Title" and a.body == "Body." and a.agency == "TASS"


def test_text_joins_title_lead_body_without_dateline():
    a = parse_article("T\n\nLead.\n\nMOSCOW, May 1. /TASS/. Body.", "x")
    assert a.text == "T\n\nLead.\n\nBody."


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "empty article"),
        ("   \n\n  \n", "empty article"),
        ("Just a title", "no body"),
        ("Read more on the site →", "only site boilerplate"),
    ],
)
def test_bad_articles_name_the_problem(raw, message):
    with pytest.raises(ArtclfError, match=message):
        parse_article(raw, "x", source="seeds/x.txt")


def test_non_utf8_file_names_file_and_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"Title\n\nCaf\xe9 body")
    with pytest.raises(ArtclfError, match=r"bad.txt: not valid UTF-8 \(byte 0xe9 at offset 10\)"):
        read_article(path)
