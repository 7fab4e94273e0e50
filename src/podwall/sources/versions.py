"""Two versions of the same manifests, read and parsed once where they agree.

``podwall diff`` loads two versions that mostly share their files (the same ``pods.yaml`` on
both sides, or the files a branch did not touch at the base revision). A source whose text is
the same on both sides is parsed once; each side is still decoded on its own, with its own
file names in diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from podwall.errors import Diagnostic
from podwall.sources.decode import LoadResult, decode_documents
from podwall.sources.manifests import Document, Locator, SourceText, parse_source, read_sources


def read_paths(paths: Sequence[str], cache: dict[str, list[SourceText]]) -> list[SourceText]:
    """``read_sources`` per path, reading each path (``-`` included) only once across calls."""
    out: list[SourceText] = []
    for p in paths:
        hit = cache.get(p)
        if hit is None:
            hit = cache[p] = read_sources([p])
        out.extend(hit)
    return out


def load_versions(
    old: Sequence[SourceText], new: Sequence[SourceText], *, default_namespace: str = "default"
) -> tuple[LoadResult, LoadResult]:
    """Decode both versions; identical texts are parsed once."""
    parsed: dict[str, tuple[str, list[Document], list[Diagnostic]]] = {}

    def side(sources: Sequence[SourceText]) -> LoadResult:
        locator = Locator()
        docs: list[Document] = []
        diags: list[Diagnostic] = []
        for src in sources:
            locator.add(src)
            hit = parsed.get(src.text)
            if hit is None or hit[2]:
                # not seen yet, or it has diagnostics (which name their file): parse it here
                d, errs = parse_source(src)
                parsed.setdefault(src.text, (src.name, d, errs))
            else:
                name, d0, errs = hit
                d = d0 if name == src.name else [replace(x, source=src.name) for x in d0]
            docs.extend(d)
            diags.extend(errs)
        return decode_documents(docs, locator, default_namespace=default_namespace, diagnostics=diags)

    return side(old), side(new)


__all__ = ["load_versions", "read_paths"]
