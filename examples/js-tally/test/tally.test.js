'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { countZeros, tally, Histogram } = require('../tally.js');

test('countZeros counts numeric zeros', () => {
  assert.strictEqual(countZeros([0, 1, 0, 2]), 2);
  assert.strictEqual(countZeros([3, 4]), 0);
});

test('countZeros ignores values that only compare equal to zero', () => {
  assert.strictEqual(countZeros([0, '', false, '0', null]), 1);
});

test('tally counts each value', () => {
  assert.deepStrictEqual([...tally(['a', 'b', 'a'])], [['a', 2], ['b', 1]]);
});

test('mode picks the most frequent value', () => {
  assert.strictEqual(new Histogram([3, 1, 3, 2]).mode(), 3);
});
