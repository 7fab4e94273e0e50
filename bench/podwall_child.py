"""One podwall measurement in a fresh process (run by ``bench/run_bench.py``): prints JSON.

    python bench/podwall_child.py reach FILE...   # load + full pod-level reachability
    python bench/podwall_child.py load FILE...    # load only (the floor for ``podwall can``)
    python bench/podwall_child.py parse FILE...   # plain PyYAML C-loader parse, nothing else

"Full reachability" is :func:`podwall.core.reachability.matrix` over every endpoint, each
destination checked on all of its declared container ports: the class x column bit matrix
plus the endpoint-to-class map, from which any pod pair's allowed ports are read. To show the
pod-level answer is really there, the child also counts the allowed (source pod, destination
pod, port) triples it implies (a pod reaching itself included).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    mode, files = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    if mode == "parse":
        import yaml

        n = 0
        for f in files:
            with open(f, encoding="utf-8") as fh:
                n += sum(1 for d in yaml.load_all(fh.read(), Loader=yaml.CSafeLoader) if d is not None)
        print(json.dumps({"documents": n, "seconds": time.perf_counter() - t0}))
        return
    import numpy as np

    import podwall
    from podwall.core.reachability import matrix

    loaded = podwall.load(files, strict=False)
    t1 = time.perf_counter()
    out = {"endpoints": len(loaded.cluster.endpoints), "policies": len(loaded.cluster.policies), "load_s": t1 - t0}
    if mode == "reach":
        m = matrix(loaded.engine)
        t2 = time.perf_counter()
        comp = m.compiled
        sizes = comp.classes.sizes
        widths = np.diff(comp.col_start)
        # ordered pairs of distinct endpoints of classes (a, b) ...
        triples = 0
        for a0, block in comp.iter_counts():
            rows = sizes[a0 : a0 + len(block)]
            pairs = np.outer(rows, sizes)
            pairs[np.arange(len(block)), np.arange(a0, a0 + len(block))] -= rows
            triples += int((pairs * block).sum())
        # ... plus each endpoint with itself: a pod reaches itself on every checked port
        for c, e in zip(comp.classes.cls.tolist(), m.endpoints, strict=False):
            triples += len(comp.checked[c]) if e.is_pod else len(comp.allowed(c, c))
        out.update(
            matrix_s=t2 - t1,
            classes=comp.classes.n,
            columns=comp.n_columns,
            checked_pairs=int(sizes.sum()) * int((sizes * widths).sum()),
            allowed_triples=triples,
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
