package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RangeTest {
    @Test
    void containsInside() {
        assertTrue(new Range(1, 5).contains(3));
    }

    @Test
    void containsBothEnds() {
        Range r = new Range(1, 5);
        assertTrue(r.contains(1));
        assertTrue(r.contains(5));
    }

    @Test
    void excludesOutside() {
        Range r = new Range(1, 5);
        assertFalse(r.contains(0));
        assertFalse(r.contains(6));
    }

    @Test
    void containsRange() {
        assertTrue(new Range(1, 9).contains(new Range(1, 4)));
    }

    @Test
    void length() {
        assertEquals(5, new Range(1, 5).length());
    }
}
