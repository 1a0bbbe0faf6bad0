package com.example;

/** A closed integer interval [lo, hi]. */
public class Range {
    private final int lo;
    private final int hi;

    public Range(int lo, int hi) {
        if (lo > hi) {
            throw new IllegalArgumentException("lo > hi");
        }
        this.lo = lo;
        this.hi = hi;
    }

    public boolean contains(int x) {
        return x > lo && x <= hi;
    }

    public boolean contains(Range other) {
        return contains(other.lo) && contains(other.hi);
    }

    public int length() {
        return hi - lo + 1;
    }

    public Range clamp(Range other) {
        return new Range(Math.max(lo, other.lo), Math.min(hi, other.hi));
    }
}
