"""The questionnaire model: the default item bank, its wording, and checking answers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from shared.questionnaire import (
    DEFAULT_BANK_PATH,
    AnswerError,
    BankError,
    answered_dimensions,
    load_bank,
    merge_answers,
    missing_for_submit,
    parse_bank,
    validate_answers,
)

DIMENSIONS = ["trust", "competence", "recognition", "proactivity", "responsiveness", "commitment"]
TOUCHPOINTS = ["sales", "service", "delivery", "product", "implementation", "billing"]
SCORING_ITEM_IDS = (
    [f"{d}.{n}" for d in DIMENSIONS for n in (1, 2, 3)]
    + ["recommend", "satisfaction"]
    + [f"touchpoint.{t}" for t in TOUCHPOINTS]
    + ["moments", "competitor.name"]
    + [f"competitor.{d}" for d in DIMENSIONS]
    + ["comment.start", "comment.stop", "comment.continue"]
)


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def dimensions_answered(count: int, *, per_dimension: int = 2) -> dict[str, int]:
    """Answers making `count` dimensions count, `per_dimension` items each."""
    return {f"{d}.{n}": 5 for d in DIMENSIONS[:count] for n in range(1, per_dimension + 1)}


def errors_of(answers: object) -> dict[str, list[str]]:
    with pytest.raises(AnswerError) as caught:
        validate_answers(answers)
    return caught.value.details


# --- the item bank -------------------------------------------------------------------


def test_bank_has_exactly_the_item_ids_of_scoring_md(bank):
    assert sorted(item.id for item in bank.items) == sorted(SCORING_ITEM_IDS)


@pytest.mark.parametrize("side", ["buyer", "seller"])
@pytest.mark.parametrize("language", ["en", "de"])
def test_every_item_has_wording_for_both_sides_in_en_and_de(bank, side, language):
    for item in bank.items:
        text = item.text[side][language]
        assert text.strip(), f"{item.id} has no {side} {language} wording"
    rendered = {i["id"]: i["text"] for i in bank.items_for(side, language)}
    assert set(rendered) == set(SCORING_ITEM_IDS)
    assert all(text and "{" not in text for text in rendered.values())


def test_seller_and_buyer_wordings_differ_for_the_dimension_items(bank):
    for item in bank.items:
        if item.dimension:
            assert item.text["buyer"]["en"] != item.text["seller"]["en"]
            assert item.text["buyer"]["de"] != item.text["seller"]["de"]


def test_default_bank_item_kinds_scales_and_dimensions(bank):
    assert bank.dimensions == tuple(DIMENSIONS)
    assert bank.dimension_items()["trust"] == ("trust.1", "trust.2", "trust.3")
    trust = bank.item("trust.1")
    assert (trust.kind, trust.dimension, trust.scale_min, trust.scale_max) == (
        "agreement",
        "trust",
        1,
        7,
    )
    recommend = bank.item("recommend")
    assert (recommend.kind, recommend.scale_min, recommend.scale_max) == ("nps", 0, 10)
    assert recommend.required is True
    assert (bank.item("satisfaction").scale_min, bank.item("satisfaction").scale_max) == (1, 7)
    assert bank.item("touchpoint.billing").scale_max == 7
    comparison = bank.item("competitor.trust")
    assert (comparison.kind, comparison.scale_min, comparison.scale_max) == ("comparison", -2, 2)
    # a competitor item is not part of the dimension score
    assert (comparison.dimension, comparison.compares) == (None, "trust")
    assert bank.item("comment.start").kind == "text"
    assert bank.item("moments").kind == "moments"
    assert all(item.reverse is False for item in bank.items)
    assert [i.id for i in bank.items if i.required] == ["recommend"]


def test_sections_are_in_page_order_with_title_and_intro_in_both_languages(bank):
    assert [s.id for s in bank.sections] == DIMENSIONS + [
        "recommend",
        "satisfaction",
        "touchpoints",
        "moments",
        "competitor",
        "comments",
    ]
    for language in ("en", "de"):
        for side in ("buyer", "seller"):
            pages = bank.sections_for(side, language)
            for page in pages:
                assert page["title"] and page["intro"] and page["items"]
    assert bank.sections_for("buyer", "de")[0]["title"] == "Vertrauen"
    trust_page = bank.sections_for("buyer", "en")[0]
    assert [i["id"] for i in trust_page["items"]] == ["trust.1", "trust.2", "trust.3"]


def test_scale_labels_and_dont_know_in_both_languages(bank):
    by_id = {i["id"]: i for i in bank.items_for("buyer", "en")}
    agreement = by_id["trust.1"]["scale"]
    assert agreement["points"][0] == {"value": 1, "label": "Strongly disagree"}
    assert agreement["points"][-1] == {"value": 7, "label": "Strongly agree"}
    assert [p["value"] for p in agreement["points"]] == list(range(1, 8))
    assert agreement["dont_know"] == "Don't know / not applicable"
    nps = by_id["recommend"]["scale"]
    assert (nps["points"][0]["label"], nps["points"][-1]["label"]) == (
        "Not at all likely",
        "Extremely likely",
    )
    comparison = by_id["competitor.trust"]["scale"]
    assert (comparison["points"][0]["label"], comparison["points"][-1]["label"]) == (
        "Much worse",
        "Much better",
    )
    german = {i["id"]: i for i in bank.items_for("buyer", "de")}
    assert german["trust.1"]["scale"]["points"][0]["label"] == "Stimme überhaupt nicht zu"
    assert german["trust.1"]["scale"]["dont_know"] == "Weiß nicht / trifft nicht zu"
    assert by_id["comment.start"]["scale"] is None


def test_items_for_has_the_api_fields(bank):
    item = bank.items_for("buyer", "en")[0]
    assert {"id", "dimension", "text", "scale"} <= set(item)
    assert (item["id"], item["dimension"]) == ("trust.1", "trust")
    moments = next(i for i in bank.items_for("buyer", "en") if i["id"] == "moments")
    assert [t["id"] for t in moments["touchpoints"]] == TOUCHPOINTS
    assert [t["id"] for t in moments["tags"]] == ["delighted", "let_down", "angry"]
    assert (moments["max_items"], moments["max_length"]) == (10, 2000)


# --- wording -------------------------------------------------------------------------


def test_seller_wording_names_the_buyer(bank):
    texts = {i["id"]: i["text"] for i in bank.items_for("seller", "en", buyer_name="Joe")}
    assert texts["trust.1"] == "Joe would say that we keep our promises."
    assert "Joe" in texts["recommend"] and "Joe" in texts["satisfaction"]
    german = {i["id"]: i["text"] for i in bank.items_for("seller", "de", buyer_name="Joe")}
    assert german["trust.1"] == "Joe würde sagen, dass wir unsere Zusagen einhalten."


def test_buyer_wording_names_the_seller_company(bank):
    texts = {i["id"]: i["text"] for i in bank.items_for("buyer", "en", seller_company="Acme")}
    assert texts["trust.1"] == "Acme keeps its promises."
    assert "Acme" in texts["recommend"]
    intro = bank.sections_for("buyer", "en", seller_company="Acme")[0]["intro"]
    assert "Acme" in intro


def test_missing_names_fall_back_to_a_capitalised_generic_wording(bank):
    buyer = {i["id"]: i["text"] for i in bank.items_for("buyer", "en")}
    assert buyer["trust.1"] == "The account team keeps its promises."
    seller = {i["id"]: i["text"] for i in bank.items_for("seller", "en", buyer_name="  ")}
    assert seller["trust.1"] == "This client would say that we keep our promises."
    german = {i["id"]: i["text"] for i in bank.items_for("buyer", "de")}
    assert german["trust.1"] == "Das Account-Team hält Zusagen ein."


def test_a_name_with_braces_is_inserted_literally(bank):
    texts = {i["id"]: i["text"] for i in bank.items_for("seller", "en", buyer_name="{x} von")}
    assert texts["trust.1"] == "{x} von would say that we keep our promises."


@pytest.mark.parametrize("language", ["fr", "", None, "xx-YY"])
def test_unknown_language_falls_back_to_english(bank, language):
    assert bank.language_for(language) == "en"
    assert bank.items_for("buyer", language) == bank.items_for("buyer", "en")


def test_regional_language_uses_its_primary_language(bank):
    assert bank.language_for("de-AT") == "de"
    assert bank.language_for("DE") == "de"
    assert bank.items_for("seller", "de_CH") == bank.items_for("seller", "de")


def test_unknown_side_is_refused(bank):
    with pytest.raises(ValueError, match="side"):
        bank.items_for("partner", "en")


def test_default_bank_is_read_once(bank):
    assert load_bank() is load_bank()
    assert load_bank(DEFAULT_BANK_PATH) is not load_bank()


# --- a custom bank -------------------------------------------------------------------


def bank_data() -> dict:
    return yaml.safe_load(Path(DEFAULT_BANK_PATH).read_text(encoding="utf-8"))


def test_a_bank_file_may_mark_an_item_reverse(tmp_path):
    data = bank_data()
    data["sections"][0]["items"][0]["reverse"] = True
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    custom = load_bank(path)
    assert custom.item("trust.1").reverse is True
    assert next(i for i in custom.items_for("buyer", "en") if i["id"] == "trust.1")["reverse"]


def test_a_bank_missing_a_german_wording_is_refused():
    data = bank_data()
    del data["sections"][0]["items"][0]["text"]["seller"]["de"]
    with pytest.raises(BankError, match=r"trust\.1.*de"):
        parse_bank(data)


def test_a_bank_whose_seller_wording_names_the_seller_company_is_refused():
    data = bank_data()
    data["sections"][0]["items"][0]["text"]["seller"]["en"] = "{seller_company} is great"
    with pytest.raises(BankError, match="seller_company"):
        parse_bank(data)


def test_a_bank_with_a_duplicate_item_id_is_refused():
    data = bank_data()
    data["sections"][1]["items"][0]["id"] = "trust.1"
    with pytest.raises(BankError, match="duplicate"):
        parse_bank(data)


# --- validating answers --------------------------------------------------------------


def test_valid_answers_are_returned_cleaned_in_bank_order():
    answers = {
        "recommend": 0,
        "trust.1": 7,
        "trust.2": None,
        "competitor.trust": -2,
        "competitor.name": "  us ",
        "comment.start": "  Call more often. ",
        "comment.stop": "   ",
        "moments": [{"touchpoint": "billing", "tag": "angry", "text": " Wrong invoice "}],
    }
    assert validate_answers(answers) == {
        "trust.1": 7,
        "trust.2": None,
        "recommend": 0,
        "moments": [{"touchpoint": "billing", "tag": "angry", "text": "Wrong invoice"}],
        "competitor.name": "us",
        "competitor.trust": -2,
        "comment.start": "Call more often.",
        "comment.stop": None,
    }
    assert list(validate_answers(answers)) == [
        "trust.1",
        "trust.2",
        "recommend",
        "moments",
        "competitor.name",
        "competitor.trust",
        "comment.start",
        "comment.stop",
    ]


def test_empty_answers_are_valid():
    assert validate_answers({}) == {}


@pytest.mark.parametrize("answers", [[], "trust.1=6", None, 7])
def test_answers_must_be_an_object(answers):
    assert list(errors_of(answers)) == ["answers"]


@pytest.mark.parametrize(
    ("item_id", "low", "high"),
    [
        ("trust.1", 1, 7),
        ("recommend", 0, 10),
        ("satisfaction", 1, 7),
        ("touchpoint.sales", 1, 7),
        ("competitor.commitment", -2, 2),
    ],
)
def test_rated_items_accept_their_range_and_null_and_refuse_outside_it(item_id, low, high):
    assert validate_answers({item_id: low}) == {item_id: low}
    assert validate_answers({item_id: high}) == {item_id: high}
    assert validate_answers({item_id: None}) == {item_id: None}
    for outside in (low - 1, high + 1, 10**5000):
        details = errors_of({item_id: outside})
        assert list(details) == [item_id]
        assert "out of range" in details[item_id][0]


def test_unknown_item_is_refused():
    assert errors_of({"trust.4": 5, "trust.1": 5}) == {"trust.4": ["unknown item"]}


def test_every_bad_field_is_reported_at_once():
    details = errors_of({"trust.1": 0, "trust.2": "x", "nope": 1, "trust.3": 4})
    assert set(details) == {"trust.1", "trust.2", "nope"}


@pytest.mark.parametrize("operator", [{"$gt": ""}, {"$ne": None}, {"$where": "sleep(1000)"}])
def test_mongodb_operator_as_a_value_is_refused_naming_the_field(operator):
    details = errors_of({"trust.1": operator})
    assert list(details) == ["trust.1"]
    assert "operator" in details["trust.1"][0]


@pytest.mark.parametrize("item_id", ["comment.start", "competitor.name", "moments"])
def test_mongodb_operator_is_refused_for_text_and_moments_too(item_id):
    details = errors_of({item_id: {"$gt": ""}})
    assert list(details) == [item_id]
    assert "operator" in details[item_id][0]


@pytest.mark.parametrize("key", ["$where", "$set", "$gt"])
def test_operator_keys_are_refused(key):
    details = errors_of({key: "function() { return true; }", "trust.1": 5})
    assert list(details) == [key]
    assert details[key] == ["unknown item: names starting with '$' are not allowed"]


def test_dollar_string_where_a_number_is_expected_is_refused():
    details = errors_of({"recommend": "$gt"})
    assert list(details) == ["recommend"]
    assert "'$'" in details["recommend"][0]


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value):
    details = errors_of({"trust.1": value})
    assert "true/false" in details["trust.1"][0]


@pytest.mark.parametrize("value", ["6", "six", ""])
def test_strings_are_refused_for_rated_items(value):
    details = errors_of({"recommend": value})
    assert list(details) == ["recommend"]


@pytest.mark.parametrize("value", [6.0, 6.5, float("nan"), float("inf")])
def test_decimal_numbers_are_refused_even_when_whole(value):
    details = errors_of({"trust.1": value})
    assert "decimals" in details["trust.1"][0]


@pytest.mark.parametrize("value", [[6], {"value": 6}])
def test_lists_and_objects_are_refused_for_rated_items(value):
    assert list(errors_of({"trust.1": value})) == ["trust.1"]


def test_text_up_to_the_limit_is_kept_and_longer_text_is_refused():
    assert validate_answers({"comment.start": "a" * 2000}) == {"comment.start": "a" * 2000}
    details = errors_of({"comment.start": "a" * 2001})
    assert details == {"comment.start": ["too long: at most 2000 characters"]}


def test_text_that_starts_with_a_dollar_is_ordinary_text():
    assert validate_answers({"comment.stop": "$500 fees"}) == {"comment.stop": "$500 fees"}


@pytest.mark.parametrize("value", [5, True, ["a"]])
def test_text_fields_must_be_strings(value):
    assert list(errors_of({"comment.continue": value})) == ["comment.continue"]


def test_competitor_name_is_limited_to_200_characters():
    assert validate_answers({"competitor.name": "b" * 200}) == {"competitor.name": "b" * 200}
    assert list(errors_of({"competitor.name": "b" * 201})) == ["competitor.name"]


def moment(**changes: object) -> dict:
    return {"touchpoint": "sales", "tag": "delighted", "text": "Great demo"} | changes


def test_up_to_ten_moments_are_accepted():
    assert validate_answers({"moments": [moment()] * 10}) == {"moments": [moment()] * 10}
    assert validate_answers({"moments": []}) == {"moments": []}
    assert validate_answers({"moments": None}) == {"moments": None}


@pytest.mark.parametrize(
    ("moments", "expected"),
    [
        ([moment()] * 11, "at most 10"),
        ("great demo", "list"),
        ([moment(touchpoint="lunch")], "touchpoint must be one of"),
        ([moment(touchpoint={"$ne": ""})], "touchpoint must be one of"),
        ([moment(tag="happy")], "tag must be one of"),
        ([moment(text="x" * 2001)], "at most 2000"),
        ([moment(text=5)], "text must be a string"),
        ([{"touchpoint": "sales", "tag": "angry"}], "text is missing"),
        ([moment(when="May")], "unknown key 'when'"),
        ([moment(**{"$where": "1"})], "must not start with '$'"),
        ([moment(**{"a.b": "1"})], "contain '.'"),
        (["sales"], "must be an object"),
    ],
)
def test_bad_moments_are_refused(moments, expected):
    details = errors_of({"moments": moments})
    assert list(details) == ["moments"]
    assert any(expected in message for message in details["moments"]), details


def test_bad_moment_messages_name_the_moment():
    details = errors_of({"moments": [moment(), moment(tag="sad")]})
    assert details["moments"] == ["moment 2: tag must be one of delighted, let_down, angry"]


def test_long_unknown_field_names_are_shortened_in_the_details():
    (name,) = errors_of({"x" * 10_000: 1})
    assert len(name) < 100


def test_answer_error_is_a_value_error_with_details():
    error = AnswerError({"trust.1": ["out of range"]})
    assert isinstance(error, ValueError)
    assert error.details == {"trust.1": ["out of range"]}


# --- what is required to submit ------------------------------------------------------


def test_complete_answers_have_nothing_missing():
    assert missing_for_submit({"recommend": 8, **dimensions_answered(6, per_dimension=3)}) == {}


def test_recommend_is_required():
    missing = missing_for_submit(dimensions_answered(6))
    assert missing == {"recommend": ["required"]}


def test_recommend_dont_know_does_not_count_but_zero_does():
    assert missing_for_submit({"recommend": None, **dimensions_answered(4)}) == {
        "recommend": ["required"]
    }
    assert missing_for_submit({"recommend": 0, **dimensions_answered(4)}) == {}


def test_four_answered_dimensions_are_enough():
    assert missing_for_submit({"recommend": 9, **dimensions_answered(4)}) == {}


def test_three_answered_dimensions_are_not_enough():
    missing = missing_for_submit({"recommend": 9, **dimensions_answered(3)})
    assert missing == {
        "dimensions": ["at least 4 of 6 dimensions need 2 of 3 items answered; answered: 3"]
    }


def test_a_dimension_with_one_of_three_items_does_not_count():
    answers = {"recommend": 9, **dimensions_answered(3), "proactivity.1": 6}
    assert answered_dimensions(answers) == ["trust", "competence", "recognition"]
    assert "dimensions" in missing_for_submit(answers)
    answers["proactivity.3"] = 2
    assert missing_for_submit(answers) == {}


def test_dont_know_items_do_not_make_a_dimension_count():
    answers = {"recommend": 9, **dimensions_answered(3), "proactivity.1": 6, "proactivity.2": None}
    assert answered_dimensions(answers) == ["trust", "competence", "recognition"]


def test_competitor_answers_do_not_make_a_dimension_count():
    answers = {"recommend": 9, **dimensions_answered(3)}
    answers |= {f"competitor.{d}": 1 for d in DIMENSIONS}
    assert "dimensions" in missing_for_submit(answers)


def test_nothing_answered_misses_both_rules():
    assert missing_for_submit({}) == {
        "recommend": ["required"],
        "dimensions": ["at least 4 of 6 dimensions need 2 of 3 items answered; answered: 0"],
    }


def test_the_number_of_dimensions_required_is_a_setting():
    answers = {"recommend": 9, **dimensions_answered(3)}
    assert missing_for_submit(answers, min_dimensions=3) == {}
    assert "dimensions" in missing_for_submit(
        {"recommend": 9, **dimensions_answered(5)}, min_dimensions=6
    )


# --- merging saved and new answers ---------------------------------------------------


def test_new_answers_replace_saved_ones_and_keep_the_rest():
    saved = {"trust.1": 3, "trust.2": 4, "moments": [moment()]}
    new = {"trust.1": 6, "trust.2": None, "recommend": 10, "moments": []}
    assert merge_answers(saved, new) == {
        "trust.1": 6,
        "trust.2": None,
        "moments": [],
        "recommend": 10,
    }


def test_merging_does_not_change_either_argument():
    saved = {"trust.1": 3, "moments": [moment()]}
    new = {"trust.1": 5}
    saved_before, new_before = copy.deepcopy(saved), copy.deepcopy(new)
    merged = merge_answers(saved, new)
    merged["moments"][0]["text"] = "changed"
    assert (saved, new) == (saved_before, new_before)


def test_validated_then_merged_answers_can_be_submitted():
    saved = validate_answers({"recommend": 7, **dimensions_answered(2)})
    assert "dimensions" in missing_for_submit(saved)
    new = validate_answers(
        {"recognition.1": 5, "recognition.2": 6, "commitment.1": 7, "commitment.3": 1}
    )
    assert missing_for_submit(merge_answers(saved, new)) == {}
