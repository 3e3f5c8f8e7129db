"""Safe ``.npy`` reading for request and response bodies (no pickles, bounded by the body)."""

from __future__ import annotations

import io
from typing import Any

__all__ = ["load_npy"]


def load_npy(body: bytes) -> Any:
    """Read ``.npy`` bytes (no pickles), refusing a header that promises more data than the
    body holds (so a 100-byte request cannot make the server allocate gigabytes).

    Raises:
        ValueError: not a ``.npy`` array, or its header does not fit the body.
    """
    import numpy as np
    from numpy.lib import format as npy

    stream = io.BytesIO(body)
    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, _fortran, dtype = npy.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        shape, _fortran, dtype = npy.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise ValueError("object arrays (pickles) are not accepted")
    count = 1
    for dim in shape:
        count *= int(dim)
    needed = count * dtype.itemsize
    if needed > len(body) - stream.tell():
        raise ValueError(f"header promises {needed} bytes of data, the body holds less")
    stream.seek(0)
    return np.load(stream, allow_pickle=False)
