"""Label-selector matching, exactly as apimachinery does it.

Truth table (``k8s.io/apimachinery/pkg/labels/selector.go``, ``Requirement.Matches``):

=================  =========================  ===================================
operator           labels have the key        labels lack the key
=================  =========================  ===================================
In (matchLabels)   match iff value in values  no match
NotIn              match iff value not in     **match** ("NotIn and Labels does
                   values                     not have the key" is a match)
Exists             match                      no match
DoesNotExist       no match                   match
=================  =========================  ===================================

All requirements of a selector must hold (AND). A present, empty selector (``{}``) has no
requirements and matches every label set; an absent (``None``) selector is interpreted by the
caller (see ``peers.py``), never here.
"""

from __future__ import annotations

from collections.abc import Mapping

from podwall.core.model import LabelSelector, Operator, Requirement


def requirement_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    """Whether one requirement holds for a label set (see the module's truth table)."""
    op = req.operator
    if op is Operator.IN:
        value = labels.get(req.key)
        return value is not None and value in req.values
    if op is Operator.NOT_IN:
        value = labels.get(req.key)
        return value is None or value not in req.values
    if op is Operator.EXISTS:
        return req.key in labels
    return req.key not in labels


def matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Whether a present selector selects a label set."""
    for key, value in selector.match_labels:
        if labels.get(key) != value:
            return False
    return all(requirement_matches(req, labels) for req in selector.match_expressions)


def first_failure(selector: LabelSelector, labels: Mapping[str, str]) -> str | None:
    """Why a selector does not match, in words (``None`` if it matches).

    Names the first requirement that fails and the label the object really has, e.g.
    ``needs app=backend, has app=frontend``.
    """
    for req in selector.requirements():
        if requirement_matches(req, labels):
            continue
        have = labels.get(req.key)
        has = f"has {req.key}={have}" if have is not None else f"has no label {req.key}"
        if req.operator is Operator.DOES_NOT_EXIST:
            return f"needs no label {req.key}, has {req.key}={have}"
        return f"needs {req}, {has}"
    return None
