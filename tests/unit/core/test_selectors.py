"""Label-selector matching, checked against apimachinery's own case list.

Rows transcribed from ``kubernetes/kubernetes``
``staging/src/k8s.io/apimachinery/pkg/labels/selector_test.go`` (``TestSelectorMatches``,
``TestSetMatches``, ``TestRequirementSelectorMatching``), keeping only the operators a
NetworkPolicy ``LabelSelector`` can express: ``x=y`` is ``In [y]``, ``x!=y`` is ``NotIn [y]``,
``x`` is ``Exists``, ``!x`` is ``DoesNotExist`` (``>``/``<`` do not exist in metav1 selectors).
"""

from __future__ import annotations

import pytest

from podwall.core.model import LabelSelector, Operator, Requirement
from podwall.core.selectors import first_failure, matches, requirement_matches


def req(text: str) -> Requirement:
    """One requirement in apimachinery's string syntax (the subset used here)."""
    text = text.strip()
    if " notin " in text:
        key, vals = text.split(" notin ")
        return Requirement(key=key, operator=Operator.NOT_IN, values=tuple(vals.strip("()").split(",")))
    if " in " in text:
        key, vals = text.split(" in ")
        return Requirement(key=key, operator=Operator.IN, values=tuple(vals.strip("()").split(",")))
    if "!=" in text:
        key, val = text.split("!=")
        return Requirement(key=key, operator=Operator.NOT_IN, values=(val,))
    if "=" in text:
        key, val = text.split("=")
        return Requirement(key=key, operator=Operator.IN, values=(val,))
    if text.startswith("!"):
        return Requirement(key=text[1:], operator=Operator.DOES_NOT_EXIST)
    return Requirement(key=text, operator=Operator.EXISTS)


def sel(text: str) -> LabelSelector:
    if not text:
        return LabelSelector()
    return LabelSelector(match_expressions=tuple(req(part) for part in text.split(";")))


LABELSET = {"foo": "bar", "baz": "blah"}

# (selector, labels, expected); selectors use ';' between requirements so that
# "x in (a,b)" keeps its comma.
SELECTOR_MATCHES = [
    # TestSelectorMatches
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y;z=w", {"x": "y", "z": "w"}, True),
    ("x!=y;z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y;z=w", {"x": "w", "z": "w"}, False),
    ("x!=y;z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("foo=bar", LABELSET, True),
    ("baz=blah", LABELSET, True),
    ("foo=bar;baz=blah", LABELSET, True),
    ("foo=blah", LABELSET, False),
    ("baz=bar", LABELSET, False),
    ("foo=bar;foobar=bar;baz=blah", LABELSET, False),
    # TestRequirementSelectorMatching
    ("x in (foo);y notin (alpha)", {"x": "foo", "y": "baz"}, True),
    ("x in (foo);y in (alpha)", {"x": "foo", "y": "baz"}, False),
    ("x notin ();y", {"y": ""}, True),
    ("!x;y", {"y": ""}, True),
    ("x notin ();!y", {"y": ""}, False),
    ("x in ()", {"y": "baz"}, False),
    # NotIn with the key missing is a match (Requirement.Matches: "NotIn and Labels does not
    # have the key" -> true); In with the key missing is not.
    ("x notin (a,b)", {}, True),
    ("x notin (a,b)", {"x": "a"}, False),
    ("x notin (a,b)", {"x": "c"}, True),
    ("x in (a,b)", {"x": "b"}, True),
    ("x in (a,b)", {}, False),
]


@pytest.mark.parametrize(("selector", "labels", "expected"), SELECTOR_MATCHES)
def test_selector_matches_like_apimachinery(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert matches(sel(selector), labels) is expected


# TestSetMatches: SelectorFromSet(set) is matchLabels.
@pytest.mark.parametrize(
    ("match_labels", "expected"),
    [
        ({}, True),
        ({"foo": "bar"}, True),
        ({"baz": "blah"}, True),
        ({"foo": "bar", "baz": "blah"}, True),
        ({"foo": "blah"}, False),
        ({"foo": "bar", "extra": "x"}, False),
        ({"foo": ""}, False),  # a present key with a different (empty) value
    ],
)
def test_match_labels(match_labels: dict[str, str], expected: bool) -> None:
    s = LabelSelector(match_labels=tuple(sorted(match_labels.items())))
    assert matches(s, LABELSET) is expected


def test_match_labels_empty_value_needs_the_key() -> None:
    s = LabelSelector(match_labels=(("x", ""),))
    assert matches(s, {"x": ""})
    assert not matches(s, {})


def test_empty_selector_matches_everything_including_no_labels() -> None:
    assert matches(LabelSelector(), {})
    assert matches(LabelSelector(), {"any": "thing"})


def test_match_labels_and_expressions_are_anded() -> None:
    s = LabelSelector(match_labels=(("app", "web"),), match_expressions=(req("tier notin (db)"),))
    assert matches(s, {"app": "web", "tier": "fe"})
    assert matches(s, {"app": "web"})
    assert not matches(s, {"app": "web", "tier": "db"})
    assert not matches(s, {"app": "api", "tier": "fe"})


@pytest.mark.parametrize(
    ("op", "values", "labels", "expected"),
    [
        (Operator.IN, ("a",), {"k": "a"}, True),
        (Operator.IN, ("a",), {"k": "b"}, False),
        (Operator.IN, ("a",), {}, False),
        (Operator.NOT_IN, ("a",), {"k": "a"}, False),
        (Operator.NOT_IN, ("a",), {"k": "b"}, True),
        (Operator.NOT_IN, ("a",), {}, True),
        (Operator.EXISTS, (), {"k": ""}, True),
        (Operator.EXISTS, (), {}, False),
        (Operator.DOES_NOT_EXIST, (), {"k": ""}, False),
        (Operator.DOES_NOT_EXIST, (), {}, True),
    ],
)
def test_requirement_truth_table(op: Operator, values: tuple[str, ...], labels: dict[str, str], expected: bool) -> None:
    assert requirement_matches(Requirement(key="k", operator=op, values=values), labels) is expected


def test_first_failure_names_requirement_and_actual_label() -> None:
    s = LabelSelector(match_labels=(("app", "backend"),))
    assert first_failure(s, {"app": "frontend"}) == "needs app=backend, has app=frontend"
    assert first_failure(s, {}) == "needs app=backend, has no label app"
    assert first_failure(s, {"app": "backend"}) is None


def test_first_failure_reports_first_failing_requirement_in_order() -> None:
    s = LabelSelector(match_labels=(("a", "1"),), match_expressions=(req("!b"), req("c")))
    assert first_failure(s, {"a": "1", "b": "x"}) == "needs no label b, has b=x"
    assert first_failure(s, {"a": "1"}) == "needs c, has no label c"
    assert first_failure(s, {"a": "1", "c": ""}) is None


def test_first_failure_agrees_with_matches_on_every_row() -> None:
    for text, labels, expected in SELECTOR_MATCHES:
        assert (first_failure(sel(text), labels) is None) is expected, text
