"""A line-by-line Python translation of Deequ's KLL (the test oracle).

Translated by hand from awslabs/deequ ``QuantileNonSample.scala`` (update, condense, expand,
merge, getRank, getRankExclusive), ``NonSampleCompactor.scala`` (compact) and
``KLLSketch.scala`` (computeMetricFrom's buckets), value by value with Python lists, no
vectorisation: slow, obviously equal to the Scala, and independent of the engine under test.
"""

from __future__ import annotations

import math


class RefCompactor:
    def __init__(self) -> None:
        self.num_of_compress = 0
        self.offset = 0
        self.buffer: list[float] = []

    def compact(self) -> list[float]:
        items = len(self.buffer)
        length = items - (items % 2)
        if self.num_of_compress % 2 == 1:
            self.offset = 1 - self.offset
        s_buff = sorted(self.buffer[:length], key=_java_key)
        output = [s_buff[i] for i in range(self.offset, length, 2)]
        tail = self.buffer[max(items - 1, 0)] if items % 2 == 1 else None
        self.buffer = [tail] if tail is not None else []
        self.num_of_compress += 1
        return output


def _java_key(v: float) -> tuple[bool, float, int]:
    # java.lang.Double.compare: -0.0 < 0.0, NaN above everything
    if math.isnan(v):
        return (True, 0.0, 0)
    return (False, v, 1 if v == 0.0 and math.copysign(1.0, v) > 0 else 0)


class RefSketch:
    def __init__(self, sketch_size: int = 2048, shrinking_factor: float = 0.64) -> None:
        self.sketch_size = sketch_size
        self.shrinking_factor = shrinking_factor
        self.cur_num_of_compactors = 0
        self.compactor_actual_size = 0
        self.compactor_total_size = 0
        self.compactors: list[RefCompactor] = []
        self.expand()

    def expand(self) -> None:
        self.compactors.append(RefCompactor())
        self.cur_num_of_compactors = len(self.compactors)
        self.compactor_total_size = sum(self.capacity(h) for h in range(len(self.compactors)))

    def capacity(self, height: int) -> int:
        return 2 * (math.ceil(self.sketch_size * math.pow(self.shrinking_factor, height) / 2) + 1)

    def update(self, item: float) -> None:
        self.compactors[0].buffer.append(item)
        self.compactor_actual_size += 1
        if self.compactor_actual_size > self.compactor_total_size:
            self.condense()

    def condense(self) -> None:
        for height in range(len(self.compactors)):
            if len(self.compactors[height].buffer) >= self.capacity(height):
                if height + 1 >= self.cur_num_of_compactors:
                    self.expand()
                output = self.compactors[height].compact()
                self.compactors[height + 1].buffer.extend(output)
                self.compactor_actual_size = sum(len(c.buffer) for c in self.compactors)
                break

    def merge(self, that: RefSketch) -> RefSketch:
        while self.cur_num_of_compactors < that.cur_num_of_compactors:
            self.expand()
        for i in range(that.cur_num_of_compactors):
            self.compactors[i].buffer = self.compactors[i].buffer + that.compactors[i].buffer
        self.compactor_actual_size = sum(len(c.buffer) for c in self.compactors)
        while self.compactor_actual_size >= self.compactor_total_size:
            self.condense()
        return self

    def output(self) -> list[tuple[float, int]]:
        return [(v, 1 << i) for i, c in enumerate(self.compactors) for v in c.buffer]

    def get_rank(self, item: float) -> int:
        return sum(w for v, w in self.output() if not v > item)

    def get_rank_exclusive(self, item: float) -> int:
        return sum(w for v, w in self.output() if v < item)

    def items(self) -> list[list[float]]:
        return [list(c.buffer) for c in self.compactors]


def ref_statistics(values: list[float]) -> tuple[list[list[float]], list[dict[str, float]]]:
    """(sketch data, buckets) as SageMaker's analyzer writes them, through the oracle."""
    partial = RefSketch()
    lo, hi = 2147483647.0, -2147483648.0  # StatefulKLLSketch.initialize
    for v in values:
        partial.update(v)
        lo, hi = min(lo, v), max(hi, v)
    final = RefSketch().merge(partial)
    buckets = []
    for i in range(10):
        low = lo + (hi - lo) * i / 10.0
        high = lo + (hi - lo) * (i + 1) / 10.0
        if i == 9:
            count = final.get_rank(high) - final.get_rank_exclusive(low)
        else:
            count = final.get_rank_exclusive(high) - final.get_rank_exclusive(low)
        buckets.append({"lower_bound": low, "upper_bound": high, "count": float(count)})
    return final.items(), buckets
