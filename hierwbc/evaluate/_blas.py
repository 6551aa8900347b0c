"""One-thread BLAS for small or oddly shaped products.

Threaded GEMMs with few rows (e.g. [5, n] @ [n, 47]) can stall for hundreds of milliseconds on
a busy machine (measured with OpenBLAS on 2 cores: 540 ms threaded, 2 ms on one thread), and
LAPACK factorisations of D x D matrices gain nothing from threads.
"""

from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas():
    """Context manager limiting the BLAS libraries to one thread."""
    return _controller().limit(limits=1, user_api="blas")
