"""Reading manifests: files, directories, stdin, documents, Lists, workloads, owners, bad input.

Every bad input must end as a diagnostic (or ``InputError`` for unreadable bytes) that names the
file and the line, never as another exception, and quickly (the inputs below are adversarial
enough that a regression would hang or crash the suite).
"""

from __future__ import annotations

import io
import json
import textwrap
import time
from pathlib import Path

import pytest
from tests.unit.sources.source_helpers import decode, netpol

import podwall
from podwall.errors import InputError, ManifestError, Severity
from podwall.sources.decode import load

NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{team: {team}}}\n"
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{app: {app}}}\n"


def keys(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.key for e in result.cluster.endpoints]


# -- documents and Lists ---------------------------------------------------------------------


def test_multi_document_file_and_empty_documents() -> None:
    text = (
        "---\n" + POD.format(name="a", ns="x", app="a") + "---\n---\n" + POD.format(name="b", ns="y", app="b") + "...\n"
    )
    result = decode(text)
    assert result.diagnostics == []
    assert keys(result) == ["x/a", "y/b"]


@pytest.mark.parametrize("kind", ["List", "PodList", "NamespaceList"])
def test_list_kinds_are_unwrapped(kind: str) -> None:
    text = f"apiVersion: v1\nkind: {kind}\nitems:\n" + textwrap.indent(
        "- "
        + NS.format(name="team-a", team="a").replace("\n", "\n  ")
        + "\n- "
        + POD.format(name="p", ns="team-a", app="w").replace("\n", "\n  "),
        "",
    )
    result = decode(text)
    assert result.errors == []
    assert keys(result) == ["team-a/p"]
    assert dict(result.cluster.namespaces["team-a"].labels) == {"team": "a", "kubernetes.io/metadata.name": "team-a"}


@pytest.mark.parametrize("items", ["items: []", "items: null", "items:"])
def test_empty_list(items: str) -> None:
    result = decode(f"apiVersion: v1\nkind: List\n{items}\n")
    assert result.diagnostics == [] and result.cluster.endpoints == ()


def test_list_items_of_the_wrong_type_are_located() -> None:
    result = decode("apiVersion: v1\nkind: List\nitems:\n- 5\n- just text\n")
    assert [(d.line, d.code, d.message) for d in result.errors] == [
        (4, "type", "Invalid type: expected a Kubernetes object (a mapping), got an integer"),
        (5, "type", "Invalid type: expected a Kubernetes object (a mapping), got a string"),
    ]
    result = decode("apiVersion: v1\nkind: List\nitems: five\n")
    assert [(d.line, d.code) for d in result.errors] == [(3, "type")]


# -- stdin, files and directories ----------------------------------------------------------------


def test_stdin_through_the_public_api() -> None:
    data = (
        POD.format(name="a", ns="x", app="a") + "---\n" + netpol("podSelector: {}\ningress:\n- ports:\n  - port: 0")
    ).encode()
    c = podwall.load("-", stdin=io.BytesIO(data), strict=False)
    assert [e.key for e in c.cluster.endpoints] == ["x/a"]
    (d,) = c.diagnostics
    assert d.render().startswith("<stdin>:17: spec.ingress[0].ports[0].port: Invalid value: 0")
    with pytest.raises(ManifestError) as info:
        podwall.load(["-"], stdin=io.BytesIO(data))
    assert info.value.diagnostics == c.diagnostics
    assert str(info.value).startswith("<stdin>:17: spec.ingress[0].ports[0].port")


def test_directories_are_read_recursively_in_a_deterministic_order(tmp_path: Path) -> None:
    files = {
        "b.yaml": POD.format(name="b", ns="n", app="x"),
        "a.yml": POD.format(name="a", ns="n", app="x"),
        "sub/c.json": json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c", "namespace": "n"}}),
        "sub/deeper/d.yaml": POD.format(name="d", ns="n", app="x"),
        "notes.txt": "not: [a manifest",
        "README.md": "# hello",
        "sub/e.YAML.bak": "garbage: [",
        ".hidden.yaml": "garbage: [",
        ".git/config.yaml": "garbage: [",
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    result = load([str(tmp_path)])
    assert result.diagnostics == []
    assert keys(result) == ["n/a", "n/b", "n/c", "n/d"]  # sorted paths: a.yml, b.yaml, sub/c.json, sub/deeper/d.yaml
    # the same pod defined twice: the later file wins, with a warning naming the first
    (tmp_path / "sub" / "zz.yaml").write_text(POD.format(name="a", ns="n", app="y"))
    result = load([str(tmp_path)])
    (dup,) = [d for d in result.diagnostics if d.code == "duplicate"]
    assert dup.severity is Severity.WARNING and dup.file.endswith("zz.yaml") and "a.yml" in dup.message


def test_explicit_file_without_manifest_suffix_is_read(tmp_path: Path) -> None:
    p = tmp_path / "manifest.txt"
    p.write_text(POD.format(name="a", ns="n", app="x"))
    assert keys(load([str(p)])) == ["n/a"]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        podwall.load([str(tmp_path / "nope.yaml")])


# -- workloads, owners, namespaces, skipped kinds ---------------------------------------------------

TEMPLATE = """\
template:
  metadata:
    labels: {app: %(name)s, tier: t}
  spec:
    containers:
    - name: c
      ports:
      - {containerPort: 8080, name: http}
      - {containerPort: 53, protocol: UDP}
"""


def workload(kind: str, name: str, api: str, extra: str = "") -> str:
    body = TEMPLATE % {"name": name}
    if kind == "CronJob":
        body = "schedule: '* * * * *'\njobTemplate:\n  spec:\n" + textwrap.indent(body, "    ")
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: w\nspec:\n" + textwrap.indent(
        extra + body, "  "
    )


WORKLOADS = [
    ("Deployment", "apps/v1", "deployment"),
    ("StatefulSet", "apps/v1", "statefulset"),
    ("DaemonSet", "apps/v1", "daemonset"),
    ("ReplicaSet", "apps/v1", "replicaset"),
    ("ReplicationController", "v1", "replicationcontroller"),
    ("Job", "batch/v1", "job"),
    ("CronJob", "batch/v1", "cronjob"),
]


@pytest.mark.parametrize(("kind", "api", "lower"), WORKLOADS)
def test_workloads_become_endpoints_from_their_pod_template(kind: str, api: str, lower: str) -> None:
    result = decode(workload(kind, "wl", api))
    assert result.diagnostics == []
    (ep,) = result.cluster.endpoints
    assert ep.kind == kind and ep.key == f"w/{lower}/wl"
    assert dict(ep.labels) == {"app": "wl", "tier": "t"}
    assert [(p.name, p.port, p.protocol.value) for p in ep.ports] == [("http", 8080, "TCP"), (None, 53, "UDP")]
    assert not ep.is_pod


def test_workload_labels_are_the_templates_not_the_objects() -> None:
    text = workload("Deployment", "web", "apps/v1").replace("  namespace: w\n", "  namespace: w\n  labels: {app: "
        "other}\n")
    (ep,) = decode(text).cluster.endpoints
    assert dict(ep.labels) == {"app": "web", "tier": "t"}


def owned_pod(name: str, owner_kind: str, owner: str, *, hash_label: str = "", ip: str = "10.1.0.1") -> str:
    labels = "{app: web" + (f", pod-template-hash: {hash_label}" if hash_label else "") + "}"
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: w\n  labels: {labels}\n"
        f"  ownerReferences:\n  - {{apiVersion: apps/v1, kind: {owner_kind}, name: {owner}, uid: u}}\n"
        f"status:\n  podIP: {ip}\n"
    )


def test_pod_and_replicaset_fold_into_the_deployment_present() -> None:
    rs = workload("ReplicaSet", "web-5d9c", "apps/v1").replace(
        "  namespace: w\n", "  namespace: w\n  ownerReferences:\n  - {apiVersion: apps/v1, kind: Deployment, name: "
            "web, uid: u}\n"
    )
    text = "---\n".join(
        [
            workload("Deployment", "web", "apps/v1"),
            rs,
            owned_pod("web-5d9c-aaaaa", "ReplicaSet", "web-5d9c", hash_label="5d9c", ip="10.1.0.1"),
            owned_pod("web-5d9c-bbbbb", "ReplicaSet", "web-5d9c", hash_label="5d9c", ip="10.1.0.2"),
        ]
    )
    result = decode(text)
    assert result.diagnostics == []
    (ep,) = result.cluster.endpoints
    assert ep.key == "w/deployment/web"
    assert set(ep.ips) == {"10.1.0.1", "10.1.0.2"}


def test_pod_folds_into_deployment_by_pod_template_hash_when_the_replicaset_is_missing() -> None:
    text = (
        workload("Deployment", "web", "apps/v1")
        + "---\n"
        + owned_pod("web-5d9c-aaaaa", "ReplicaSet", "web-5d9c", hash_label="5d9c")
    )
    assert keys(decode(text)) == ["w/deployment/web"]


def test_hash_heuristic_needs_the_matching_label() -> None:
    # without pod-template-hash (or with another one) the pod is not folded
    text = workload("Deployment", "web", "apps/v1") + "---\n" + owned_pod("web-5d9c-aaaaa", "ReplicaSet", "web-5d9c")
    assert keys(decode(text)) == ["w/deployment/web", "w/web-5d9c-aaaaa"]
    text = (
        workload("Deployment", "web", "apps/v1")
        + "---\n"
        + owned_pod("web-5d9c-a", "ReplicaSet", "web-5d9c", hash_label="ffff")
    )
    assert keys(decode(text)) == ["w/deployment/web", "w/web-5d9c-a"]


@pytest.mark.parametrize(
    ("owner_kind", "wl"), [("StatefulSet", "StatefulSet"), ("DaemonSet", "DaemonSet"), ("Job", "Job")]
)
def test_pods_fold_into_other_owners(owner_kind: str, wl: str) -> None:
    api = "batch/v1" if wl == "Job" else "apps/v1"
    text = workload(wl, "web", api) + "---\n" + owned_pod("web-0", owner_kind, "web")
    (ep,) = decode(text).cluster.endpoints
    assert ep.kind == wl and ep.ips == ("10.1.0.1",)


def test_pod_is_not_folded_when_its_owner_is_absent() -> None:
    result = decode(
        owned_pod("web-0", "StatefulSet", "web")
        + "---\n"
        + owned_pod("x-5d9c-a", "ReplicaSet", "x-5d9c", hash_label="5d9c")
    )
    assert keys(result) == ["w/web-0", "w/x-5d9c-a"]


def test_owner_in_another_namespace_does_not_fold() -> None:
    text = (
        workload("StatefulSet", "web", "apps/v1").replace("namespace: w", "namespace: other")
        + "---\n"
        + owned_pod("web-0", "StatefulSet", "web")
    )
    assert sorted(keys(decode(text))) == ["other/statefulset/web", "w/web-0"]


def test_implicit_namespaces_get_their_name_label() -> None:
    text = (
        POD.format(name="a", ns="implicit", app="x")
        + "---\n"
        + NS.format(name="declared", team="t")
        + "---\n"
        + netpol("podSelector: {}", metadata="name: p\nnamespace: polns")
    )
    nss = decode(text).cluster.namespaces
    assert sorted(nss) == ["declared", "implicit", "polns"]
    assert not nss["implicit"].declared and nss["declared"].declared
    assert dict(nss["implicit"].labels) == {"kubernetes.io/metadata.name": "implicit"}
    assert dict(nss["declared"].labels) == {"team": "t", "kubernetes.io/metadata.name": "declared"}


def test_namespace_name_label_cannot_be_overridden() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: real\n  labels: {kubernetes.io/metadata.name: fake}\n"
    assert decode(text).cluster.namespaces["real"].labels["kubernetes.io/metadata.name"] == "real"


def test_skipped_kinds_and_finished_pods_are_listed_with_their_line() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: done}\nstatus: {phase: Succeeded}\n---\n"
        "apiVersion: example.com/v1\nkind: NetworkPolicy\nmetadata: {name: lookalike}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: running}\nstatus: {phase: Running}\n"
    )
    result = decode(text)
    assert result.diagnostics == []
    assert result.skipped == [
        "p.yaml:1: v1 ConfigMap",
        "p.yaml:5: Pod default/done (phase Succeeded: not running)",
        "p.yaml:10: example.com/v1 NetworkPolicy",
    ]
    assert keys(result) == ["default/running"] and result.cluster.policies == ()


def test_pod_ips_and_host_network() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: true}\n"
        "status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]}\n"
    )
    (ep,) = decode(text).cluster.endpoints
    assert ep.ips == ("10.0.0.1", "fd00::1") and ep.host_network


# -- line numbers ----------------------------------------------------------------------------------


def test_line_is_the_offending_fields_line() -> None:
    text = netpol(
        """
        podSelector:
          matchLabels:
            good: x
            'bad key!': y
        ingress:
        - from:
          - ipBlock:
              cidr: 10.0.0.0/8
              except:
              - 10.0.0.0/8
          ports:
          - port: 80
            endPort: 70
        """
    )
    lines = text.splitlines()
    got = {d.field: d.line for d in decode(text).errors}
    assert got == {
        "spec.podSelector.matchLabels": 10,
        "spec.ingress[0].from[0].ipBlock.except[0]": 16,
        "spec.ingress[0].ports[0].endPort": 19,
    }
    assert "'bad key!'" in lines[9] and "- 10.0.0.0/8" in lines[15] and "endPort: 70" in lines[18]


def test_line_of_a_mapping_valued_field_is_its_key_line() -> None:
    text = netpol("podSelector: {}\ningress:\n- from:\n  - podSelector:\n      matchLabels: {a: b}\n    ipBlock:\n    "
        "  cidr: 10.0.0.0/8\n")
    (d,) = decode(text).errors
    assert d.field == "spec.ingress[0].from[0]" and d.line == 10  # the "- podSelector:" item line
    text = netpol("podSelector:\n  matchLabels:\n    app: web\ningress: yes-please\n")
    (d,) = decode(text).errors
    assert (d.field, d.line, d.code) == ("spec.ingress", 10, "type")
    # block values start on the next line; the field is still reported where its key is
    text = netpol("podSelector: {}\ningress:\n  from: []\n")
    (d,) = decode(text).errors
    assert (d.field, d.line, d.code) == ("spec.ingress", 8, "type")
    text = netpol("podSelector: {}\npolicyTypes:\n- Ingress\n- Egress\n- Ingress\n")
    (d,) = decode(text).errors
    assert (d.field, d.line) == ("spec.policyTypes", 8)


def test_lines_inside_list_items_and_later_documents() -> None:
    bad_item = netpol("podSelector: {}\ningress:\n- ports:\n  - port: 0\n").replace("\n", "\n  ")
    text = (
        POD.format(name="a", ns="x", app="a")  # lines 1-6
        + "---\n"  # 7
        + "apiVersion: v1\nkind: List\nitems:\n"  # 8-10
        + "- " + POD.format(name="b", ns="x", app="b").replace("\n", "\n  ")  # 11-16
        + "\n- " + bad_item  # 17-27
        + "\n---\n"
        + netpol("podSelector: {}\npolicyTypes: [Sideways]\n")
    )
    lines = [ln.strip() for ln in text.splitlines()]
    port_line = lines.index("- port: 0") + 1
    types_line = lines.index("policyTypes: [Sideways]") + 1
    assert port_line > 17 and types_line > port_line + 3  # in a List item, then in the third document
    ds = decode(text).errors
    assert [(d.field, d.line) for d in ds] == [
        ("spec.ingress[0].ports[0].port", port_line),
        ("spec.policyTypes[0]", types_line),
    ]


# -- bad input ---------------------------------------------------------------------------------------


def fast(fn, limit: float = 5.0):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    out = fn()
    assert time.monotonic() - start < limit, "took too long: hostile input must be refused early"
    return out


def only_error(text: str, name: str = "bad.yaml"):  # type: ignore[no-untyped-def]
    result = fast(lambda: decode(text, name))
    (d,) = result.errors
    assert d.file == name and d.line >= 1
    assert result.unreadable
    return d


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", 4, "invalid YAML"),
        ("a: b\n  c: d\n", 2, "mapping values are not allowed"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n- item\n", 4, "invalid YAML"),
        ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"', 1, "invalid YAML"),
        ('{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {\n', 4, "invalid YAML"),
        ("key: 'unterminated\n", 1, "invalid YAML"),
    ],
)
def test_malformed_yaml_and_truncated_json(text: str, line: int, fragment: str) -> None:
    d = only_error(text, "bad.json" if text.startswith("{") else "bad.yaml")
    assert d.code == "yaml" and d.line == line and fragment in d.message
    assert d.line <= max(1, len(text.splitlines()))


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: foo\n", "metadata.labels", 5),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {port: 80}\n", "metadata.labels.port", 5),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 7\n", "metadata.name", 4),
        (netpol("podSelector: {}\ningress: allow-all\n"), "spec.ingress", 8),
        (netpol("podSelector: {}\ningress:\n- from: {podSelector: {}}\n"), "spec.ingress[0].from", 9),
        (netpol("podSelector: {}\ningress:\n- ports:\n  - port: 80.5\n"), "spec.ingress[0].ports[0].port", 10),
        (
            netpol("podSelector: {}\ningress:\n- ports:\n  - {port: 80, endPort: '90'}\n"),
            "spec.ingress[0].ports[0].endPort",
            10,
        ),
        (netpol("podSelector: []\n"), "spec.podSelector", 7),
        (netpol("podSelector: {matchLabels: {on: x}}\n"), "spec.podSelector.matchLabels", 7),
        (netpol("podSelector: {}\npolicyTypes: Ingress\n"), "spec.policyTypes", 8),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: 'yes'\n", "spec.hostNetwork", 5),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
            "spec:\n  containers:\n  - ports:\n    - containerPort: '80'\n",
            "spec.containers[0].ports[0].containerPort",
            7,
        ),
        ("- apiVersion: v1\n  kind: Pod\n", "", 1),
        ("apiVersion: v1\nmetadata: {name: p}\n", "kind", 1),
        ("kind: Pod\nmetadata: {name: p}\n", "apiVersion", 1),
    ],
)
def test_wrong_types_are_located(text: str, field: str, line: int) -> None:
    d = only_error(text)
    assert (d.code, d.field, d.line) == ("type", field, line)


def test_string_where_a_list_belongs_gives_a_hint_free_type_error() -> None:
    d = only_error(netpol("podSelector: {}\ningress:\n- from: 10.0.0.0/8\n"))
    assert d.message == "Invalid type: expected a list, got a string"


def test_number_where_a_string_belongs_suggests_quoting() -> None:
    d = only_error("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {version: 1.10}\n")
    assert d.message == 'Invalid type: expected a string, got a number (quote it: "1.1")'


@pytest.mark.parametrize(
    "value",
    ["2024-01-01", "2024-01-01T10:00:00Z", "2001-12-14 21:59:43.10 -5", "10:30", "1:20:30.5", "="],
)
def test_plain_scalars_kubectl_reads_as_strings_stay_strings(value: str) -> None:
    # go-yaml v2 (kubectl's YAML reader) gives timestamps to untyped targets as text and knows
    # neither base-60 numbers nor the "=" value tag; the API server then sees a string.
    text = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    note: {value}\n"
    result = decode(text)
    assert result.diagnostics == []
    (ep,) = result.cluster.endpoints
    assert ep.annotations["note"] == value


def test_numbers_and_booleans_are_still_numbers_and_booleans() -> None:
    d = only_error("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {on: 'yes', v: 0x1F}\n")
    assert d.code == "type"  # `on` is a boolean key in YAML 1.1, as in go-yaml v2
    result = decode(netpol("podSelector: {}\ningress:\n- ports:\n  - port: 0x50\n"))
    (pol,) = result.cluster.policies
    assert pol.ingress[0].ports[0].port == 80


def test_recursive_alias() -> None:
    for text in ("a: &a [*a]\n", "apiVersion: v1\nkind: Pod\nmetadata: &m\n  name: p\n  labels: *m\n"):
        d = only_error(text)
        assert d.code == "yaml" and "recursive YAML alias" in d.message


def test_billion_laughs_with_few_aliases_is_refused() -> None:
    # nine levels of ten aliases each: only 80 aliases, but 10**9 nodes once expanded
    lines = ['    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"    {name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = name
    text = netpol("podSelector: {}\nx-bomb:\n" + "\n".join(lines) + f"\npolicyTypes: *{prev}\n")
    d = only_error(text)
    assert d.code == "yaml" and "alias bomb" in d.message
    assert d.line >= 9


def test_many_aliases_are_refused() -> None:
    text = "base: &b x\nlist:\n" + "".join("- *b\n" for _ in range(1001))
    d = only_error(text)
    assert "alias bomb" in d.message


def test_legitimate_aliases_are_fine() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: &l {app: web}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  labels: {<<: *x, tier: fe}\n  annotations: &x {app: web}\n"
    )
    result = decode(text.replace("<<: *x, ", ""))
    assert result.errors == []


@pytest.mark.parametrize("depth", [2_000, 50_000])
@pytest.mark.parametrize(("open_", "close"), [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_not_crashed(depth: int, open_: str, close: str) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: " + open_ * depth + "1" + close * depth + "\n"
    d = only_error(text)
    # PyYAML < 6.0.4 stops at podwall's depth limit ("nested too deeply"); newer LibYAML bindings
    # stop first ("exceeded maximum nesting depth"): either way a one-line YAML error on line 4
    assert d.code == "yaml" and "nest" in d.message and d.line == 4


def test_moderate_nesting_is_read() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {x: '1'}}\nspec: {x: "
        + "[" * 200
        + "]" * 200
        + "}\n"
    )
    result = fast(lambda: decode(text))
    assert result.diagnostics == [] and keys(result) == ["default/p"]


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"apiVersion: v1\nkind: Pod\n\x00\x01\x02", 3),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1),  # the first bad byte, not the first NUL
        (b"apiVersion: v1\nkind: \xff\xfe\n", 2),
        (bytes(range(256)), 1),
    ],
)
def test_binary_data_is_an_input_error_with_a_line(tmp_path: Path, raw: bytes, line: int) -> None:
    p = tmp_path / "blob.yaml"
    p.write_bytes(raw)
    with pytest.raises(InputError) as info:
        fast(lambda: podwall.load([str(p)]))
    assert str(info.value).startswith(f"{p}:{line}: ")
    with pytest.raises(InputError):
        podwall.load("-", stdin=io.BytesIO(raw))


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "bom.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + POD.format(name="a", ns="n", app="x").encode())
    assert [e.key for e in podwall.load([str(p)]).cluster.endpoints] == ["n/a"]


def test_errors_in_one_file_do_not_hide_another(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: [\n")
    (tmp_path / "b.yaml").write_text(POD.format(name="b", ns="n", app="x"))
    result = load([str(tmp_path)])
    assert [(Path(d.file).name, d.code) for d in result.errors] == [("a.yaml", "yaml")]
    assert keys(result) == ["n/b"]


def test_strict_load_raises_manifest_error_with_every_diagnostic(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(netpol("podSelector: {}\ningress:\n- ports:\n  - port: 0\n  - port: -x\n"))
    with pytest.raises(ManifestError) as info:
        podwall.load([str(p)])
    assert [d.line for d in info.value.diagnostics] == [10, 11]
    assert "(and 1 more)" in str(info.value)
    lenient = podwall.load([str(p)], strict=False)
    assert len(lenient.diagnostics) == 2 and lenient.cluster.policies == ()


def test_adversarial_inputs_raise_only_documented_exceptions(tmp_path: Path) -> None:
    samples = [
        b"", b"---\n", b"...\n", b"~\n", b"[]\n", b"{}\n", b"!!binary aGVsbG8=\n", b"!!python/object:os.system {}\n",
        b"a: !!timestamp 2001-12-14\n", b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {d: 2024-01-01}}\n",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{ports: [{containerPort: "
        b"99999999999999999999}]}]}\n",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: not-an-ip}\n",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: [1, {kind: 2}]}\n",
        b"? [complex, key]\n: value\n",
        b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{from: "
        b"[{ipBlock: {cidr: 1, except: [2]}}]}]}\n",
        b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: "
        b"{matchExpressions: [{key: [1], operator: {}, values: x}]}}\n",
        b"\t\t\n", b"%YAML 1.1\n---\na: b\n", b"%TAG ! tag:x,2000:\n--- !foo\na: b\n",
    ]
    for i, raw in enumerate(samples):
        p = tmp_path / f"s{i}.yaml"
        p.write_bytes(raw)
        try:
            c = fast(lambda p=p: podwall.load([str(p)], strict=False))
        except InputError:
            continue
        for d in c.diagnostics:
            assert d.file == str(p)
            if d.severity is Severity.ERROR:
                assert d.line >= 1, (raw, d)


# -- the public API on top of the loader --------------------------------------------------------------


def test_loaded_cluster_names_endpoints_like_the_cli(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(
        POD.format(name="client", ns="n", app="c")
        + "---\n"
        + workload("Deployment", "web", "apps/v1").replace("namespace: w", "namespace: n")
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: n}\n"
        + "spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}\n"
        + "---\n"
        + netpol("podSelector: {matchLabels: {app: web}}\ningress:\n- ports:\n  - port: http\n", metadata="name: web\n"
            "namespace: n")
    )
    c = podwall.load([str(p)])
    assert c.target("n/client").key == "n/client"
    assert c.target("n/deployment/web").key == "n/deployment/web"
    assert c.target("n/deploy/web").key == "n/deployment/web"
    assert c.target("n/web").key == "n/deployment/web"  # unambiguous without the kind
    assert str(c.target("192.0.2.1")) == "192.0.2.1"
    with pytest.raises(podwall.QueryError, match="did you mean"):
        c.target("n/clent")
    assert c.can("n/client", "n/deployment/web", 8080).allowed
    assert not c.can("n/client", "n/deployment/web", 53, "UDP").allowed
    assert c.can("n/client", "n/deployment/web", "http").allowed  # a name resolves on the destination
    assert c.can("n/client", "n/service/web", 80).allowed  # via targetPort http = 8080
    assert not c.can("192.0.2.1", "n/deployment/web", 9090).allowed


def test_repeated_keys_warn_with_both_lines() -> None:
    # The later value wins (as in kubectl's YAML reader), which silently drops the first rules.
    text = netpol("podSelector: {}\ningress:\n- from:\n  - podSelector: {}\ningress:\n- ports:\n  - port: 80\n")
    result = decode(text)
    assert result.errors == []
    (w,) = [d for d in result.diagnostics if d.code == "duplicate-key"]
    assert w.severity is Severity.WARNING and w.line == 11
    assert w.message == 'key "ingress" is repeated (first at line 8): the later value replaces the earlier one'
    (pol,) = result.cluster.policies
    assert [r.ports[0].port for r in pol.ingress] == [80]


def test_merge_keys_and_equal_keys_in_different_mappings_do_not_warn() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &l {app: web}\n"
        "  annotations: {<<: *l, <<: *l, app: x}\nspec: {app: 1, containers: [{name: a}, {name: b}]}\n"
    )
    assert decode(text).diagnostics == []
