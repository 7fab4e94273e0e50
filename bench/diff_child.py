"""One full port-set matrix in a fresh process (run by ``bench/bench_diff.py``): prints JSON.

    python bench/diff_child.py matrix FILE...

Load + :func:`podwall.core.matrix_ports.compile_connectivity` over every endpoint and address
range: the class tables from which any pair's allowed port set is read. To show the pod-level
answer is there, it also counts the ordered endpoint pairs with something allowed (a pod with
itself included), from the class-pair cells weighted by class sizes.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    mode, files = sys.argv[1], sys.argv[2:]
    assert mode == "matrix"
    t0 = time.perf_counter()
    import numpy as np

    import podwall
    from podwall.core.matrix_ports import compile_connectivity

    loaded = podwall.load(files, strict=False)
    t1 = time.perf_counter()
    eps = loaded.cluster.endpoints
    comp = compile_connectivity(loaded.cluster, loaded.engine.options, eps)
    sizes = comp.classes.sizes
    targets = np.arange(comp.n, dtype=np.int64)
    pairs = 0
    step = max(1, (1 << 22) // max(1, comp.n * comp.atoms.words))
    for a0 in range(0, comp.n, step):
        block = comp.rows_block(targets[a0 : a0 + step], targets)
        nonzero = block.any(axis=2)
        rows = sizes[a0 : a0 + step]
        w = np.outer(rows, sizes)
        idx = np.arange(len(rows))
        w[idx, a0 + idx] -= rows  # distinct endpoints of the same class ...
        pairs += int((w * nonzero).sum())
    pairs += sum(1 for e in eps if e.is_pod)  # ... and each pod with itself
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "endpoints": len(eps),
                "load_s": t1 - t0,
                "matrix_s": t2 - t1,
                "classes": comp.n,
                "atoms": comp.atoms.n,
                "ranges": len(comp.ranges),
                "pairs_with_connections": pairs,
            }
        )
    )


if __name__ == "__main__":
    main()
