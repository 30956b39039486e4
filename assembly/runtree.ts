// Balanced trees of runs [lo, hi] of u64, the storage under seqset.ts, and the
// one pool of nodes that every tree draws from.
//
// Choice: an AVL tree keyed by `lo`. Runs never overlap, so ordering by `lo`
// is also ordering by `hi`, and one descent answers "which run holds x" and
// "first run ending at or after x". AVL keeps the height under 1.45 log2(n),
// which bounds recursion and the fixed iteration stack below. A B-tree of runs
// would be more cache-friendly but needs node splitting and merging in place;
// a treap needs random priorities. Rejected for size of code, not speed.
//
// Nodes are 32 bytes carved from 64 KiB chunks allocated with `heap.alloc`
// only when the free list is empty; freed nodes go back on the free list
// (threaded through `left`), so steady-state use allocates nothing. Chunks
// are kept for reuse, never returned: the pool is as large as the peak number
// of live runs across all sets.

@unmanaged
export class Run {
  lo: u64;
  hi: u64;
  left: usize;
  right: usize;
  height: i32;
}

// 28 bytes of fields, rounded up so every node keeps its u64 fields 8-aligned.
const RUN_BYTES: usize = 32;
const CHUNK_RUNS: usize = 2048;

let freeRuns: usize = 0;

/** Takes a node from the pool, growing it by one chunk when empty. */
export function newRun(lo: u64, hi: u64): usize {
  let node = freeRuns;
  if (node == 0) node = growPool();
  let run = changetype<Run>(node);
  freeRuns = run.left;
  run.lo = lo;
  run.hi = hi;
  run.left = 0;
  run.right = 0;
  run.height = 1;
  return node;
}

function growPool(): usize {
  let chunk = heap.alloc(CHUNK_RUNS * RUN_BYTES);
  for (let i: usize = 0; i < CHUNK_RUNS - 1; i++) {
    changetype<Run>(chunk + i * RUN_BYTES).left = chunk + (i + 1) * RUN_BYTES;
  }
  changetype<Run>(chunk + (CHUNK_RUNS - 1) * RUN_BYTES).left = freeRuns;
  freeRuns = chunk;
  return chunk;
}

/** Returns one node to the pool. */
@inline
function releaseRun(node: usize): void {
  changetype<Run>(node).left = freeRuns;
  freeRuns = node;
}

/** Returns every node of the tree to the pool. */
export function releaseTree(node: usize): void {
  if (node == 0) return;
  let run = changetype<Run>(node);
  releaseTree(run.left);
  releaseTree(run.right);
  releaseRun(node);
}

@inline
function heightOf(node: usize): i32 {
  return node == 0 ? 0 : changetype<Run>(node).height;
}

@inline
function updateHeight(node: usize): void {
  let run = changetype<Run>(node);
  run.height = max(heightOf(run.left), heightOf(run.right)) + 1;
}

function rotateRight(node: usize): usize {
  let run = changetype<Run>(node);
  let pivot = run.left;
  run.left = changetype<Run>(pivot).right;
  updateHeight(node);
  changetype<Run>(pivot).right = node;
  updateHeight(pivot);
  return pivot;
}

function rotateLeft(node: usize): usize {
  let run = changetype<Run>(node);
  let pivot = run.right;
  run.right = changetype<Run>(pivot).left;
  updateHeight(node);
  changetype<Run>(pivot).left = node;
  updateHeight(pivot);
  return pivot;
}

/** Restores the AVL balance of `node` whose subtrees differ by at most 2. */
function rebalance(node: usize): usize {
  let run = changetype<Run>(node);
  let hl = heightOf(run.left);
  let hr = heightOf(run.right);
  if (hl > hr + 1) {
    let left = changetype<Run>(run.left);
    if (heightOf(left.left) < heightOf(left.right)) run.left = rotateLeft(run.left);
    return rotateRight(node);
  }
  if (hr > hl + 1) {
    let right = changetype<Run>(run.right);
    if (heightOf(right.right) < heightOf(right.left)) run.right = rotateRight(run.right);
    return rotateLeft(node);
  }
  run.height = max(hl, hr) + 1;
  return node;
}

/** Inserts a detached node whose run overlaps no run of the tree; returns the new root. */
export function insertRun(root: usize, node: usize): usize {
  if (root == 0) return node;
  let run = changetype<Run>(root);
  if (changetype<Run>(node).lo < run.lo) run.left = insertRun(run.left, node);
  else run.right = insertRun(run.right, node);
  return rebalance(root);
}

let detachedMin: usize = 0;

/** Detaches the leftmost node into `detachedMin`; returns the new root. */
function detachMin(root: usize): usize {
  let run = changetype<Run>(root);
  if (run.left == 0) {
    detachedMin = root;
    return run.right;
  }
  run.left = detachMin(run.left);
  return rebalance(root);
}

/** Removes the run starting at `lo` and returns its node to the pool; returns the new root. */
export function deleteRun(root: usize, lo: u64): usize {
  if (root == 0) return 0;
  let run = changetype<Run>(root);
  if (lo < run.lo) {
    run.left = deleteRun(run.left, lo);
    return rebalance(root);
  }
  if (lo > run.lo) {
    run.right = deleteRun(run.right, lo);
    return rebalance(root);
  }
  let left = run.left;
  let right = run.right;
  releaseRun(root);
  if (left == 0) return right;
  if (right == 0) return left;
  right = detachMin(right);
  let heir = changetype<Run>(detachedMin);
  heir.left = left;
  heir.right = right;
  return rebalance(detachedMin);
}

/** The run holding `x`, or 0. */
export function findRun(root: usize, x: u64): usize {
  let node = root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (x < run.lo) node = run.left;
    else if (x > run.hi) node = run.right;
    else return node;
  }
  return 0;
}

/** The first run ending at or after `x`, or 0. */
export function firstRunFrom(root: usize, x: u64): usize {
  let found: usize = 0;
  let node = root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (run.hi >= x) {
      found = node;
      node = run.left;
    } else {
      node = run.right;
    }
  }
  return found;
}

/** The last run starting at or before `x`, or 0. */
export function lastRunUpTo(root: usize, x: u64): usize {
  let found: usize = 0;
  let node = root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (run.lo <= x) {
      found = node;
      node = run.right;
    } else {
      node = run.left;
    }
  }
  return found;
}

/** The leftmost (0 for an empty tree) and rightmost runs. */
export function firstRun(root: usize): usize {
  let node = root;
  if (node == 0) return 0;
  while (changetype<Run>(node).left != 0) node = changetype<Run>(node).left;
  return node;
}

export function lastRun(root: usize): usize {
  let node = root;
  if (node == 0) return 0;
  while (changetype<Run>(node).right != 0) node = changetype<Run>(node).right;
  return node;
}

// In-order iteration with an explicit stack: one walk at a time, which is all
// a call into the core needs. 64 entries exceed the height of any AVL tree
// that fits in a 4 GiB memory (under 40 for 2^27 nodes).
const STACK_DEPTH: i32 = 64;
const stack = memory.data(STACK_DEPTH * sizeof<usize>(), 16);
let stackTop: i32 = 0;

@inline
function push(node: usize): void {
  assert(stackTop < STACK_DEPTH);
  store<usize>(stack + <usize>stackTop * sizeof<usize>(), node);
  stackTop++;
}

/** Starts an in-order walk at the first run ending at or after `x`. */
export function walkFrom(root: usize, x: u64): void {
  stackTop = 0;
  let node = root;
  while (node != 0) {
    let run = changetype<Run>(node);
    if (run.hi >= x) {
      push(node);
      node = run.left;
    } else {
      node = run.right;
    }
  }
}

/** The next run of the walk, or 0 at the end. */
export function walkNext(): usize {
  if (stackTop == 0) return 0;
  stackTop--;
  let node = load<usize>(stack + <usize>stackTop * sizeof<usize>());
  let next = changetype<Run>(node).right;
  while (next != 0) {
    push(next);
    next = changetype<Run>(next).left;
  }
  return node;
}

/**
 * Builds a perfectly balanced tree of `n` runs taken in order from `source`
 * (called once per run, in ascending order); returns the root.
 */
export function buildBalanced(n: u32, source: () => usize): usize {
  if (n == 0) return 0;
  let leftCount = (n - 1) >> 1;
  let left = buildBalanced(leftCount, source);
  let node = source();
  let right = buildBalanced(n - 1 - leftCount, source);
  let run = changetype<Run>(node);
  run.left = left;
  run.right = right;
  updateHeight(node);
  return node;
}
