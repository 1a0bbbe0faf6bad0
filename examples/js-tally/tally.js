'use strict';

/** How many entries of `values` are exactly the number zero. */
function countZeros(values) {
  return values.filter((v) => v == 0).length;
}

/** Counts per distinct value, in first-seen order. */
function tally(values) {
  const counts = new Map();
  for (const v of values) {
    counts.set(v, (counts.get(v) || 0) + 1);
  }
  return counts;
}

class Histogram {
  constructor(values) {
    this.counts = tally(values);
  }

  /** The most frequent value (the first one on ties). */
  mode() {
    let best;
    let bestCount = 0;
    for (const [v, n] of this.counts) {
      if (n > bestCount) {
        best = v;
        bestCount = n;
      }
    }
    return best;
  }
}

module.exports = { countZeros, tally, Histogram };
