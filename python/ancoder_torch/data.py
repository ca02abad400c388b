"""Our `.ancshard` shards (memory-mapped) and the C# DataLoader's batches, row for row.

Format: src/AnCoder.Anchoring/Shards/ShardFormat.cs. Batch order: DataLoader.cs (each epoch a Fisher–Yates shuffle
drawn from .NET's seeded `new Random(seed + epoch)`, reproduced by DotNetRandom below), so the PyTorch trainer sees
exactly the batches the C# trainer sees. For DDP every rank walks the same global order and keeps its slice of each
global micro-batch: N processes read the rows one process would.
"""
import hashlib
import json
import os

import numpy as np

MAGIC = b"ANCSHRD1"
HEADER_SIZE = 64
KEYWORD, IDENTIFIER, PARSED = 1, 2, 4
MANIFEST = "manifest.json"


class ShardError(Exception):
    pass


class Shard:
    """A read-only memory map of one shard: offsets, prompt lengths, ids, depths, flags as numpy views."""

    def __init__(self, path, verify=True):
        self.path = path
        size = os.path.getsize(path)
        if size < HEADER_SIZE:
            raise ShardError(f"{path}: truncated shard ({size} bytes, smaller than the {HEADER_SIZE}-byte header)")
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        header = bytes(raw[:HEADER_SIZE])
        if header[:8] != MAGIC:
            raise ShardError(f"{path}: not an AnCoder shard (bad magic)")
        version, self.vocab_size = np.frombuffer(header, "<i4", 2, 8)
        if version != 1:
            raise ShardError(f"{path}: shard version {version}, this reader reads 1")
        self.samples, self.tokens = (int(x) for x in np.frombuffer(header, "<i8", 2, 16))
        s, n = self.samples, self.tokens
        expected = HEADER_SIZE + 8 * (s + 1) + 4 * s + 4 * n + 2 * n + n
        if size != expected:
            raise ShardError(f"{path}: {'truncated' if size < expected else 'corrupted'} shard ({size} bytes, header promises {expected})")
        if verify and hashlib.sha256(raw[HEADER_SIZE:]).digest() != header[32:64]:
            raise ShardError(f"{path}: corrupted shard (checksum mismatch)")
        at = HEADER_SIZE
        self.offsets = np.frombuffer(raw, "<i8", s + 1, at); at += 8 * (s + 1)
        self.prompts = np.frombuffer(raw, "<i4", s, at); at += 4 * s
        self.ids = np.frombuffer(raw, "<i4", n, at); at += 4 * n
        self.depths = np.frombuffer(raw, "<u2", n, at); at += 2 * n
        self.flags = np.frombuffer(raw, "u1", n, at)
        if self.offsets[0] != 0 or self.offsets[-1] != n:
            raise ShardError(f"{path}: corrupted sample offsets")


def read_manifest(directory):
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ShardError(f"{directory}: no readable {MANIFEST} (run `ancoder prepare`): {e}")


def open_split(directory, split, optional=False, verify=True):
    """ShardSet.Open: the split's shards in manifest order, each checked against the manifest."""
    manifest = read_manifest(directory)
    entry = manifest["splits"].get(split)
    if entry is None:
        if optional:
            return []
        raise ShardError(f"{directory}: no split `{split}`")
    shards = []
    for listed in entry["shards"]:
        path = os.path.join(directory, listed["file"])
        if not os.path.exists(path):
            raise ShardError(f"{path}: missing (listed in the manifest)")
        shard = Shard(path, verify)
        if shard.tokens != listed["tokens"] or shard.samples != listed["samples"]:
            raise ShardError(f"{path}: does not match the manifest")
        shards.append(shard)
    return shards


class DotNetRandom:
    """`new System.Random(seed)` of .NET 6+ (Net5CompatSeedImpl: Knuth's subtractive generator) and its NextInt64."""

    INT_MAX = 2147483647

    def __init__(self, seed):
        seed = ((seed + 2**31) % 2**32) - 2**31  # C# int arithmetic (unchecked)
        seeds = [0] * 56
        subtraction = self.INT_MAX if seed == -2**31 else abs(seed)
        mj = 161803398 - subtraction
        seeds[55] = mj
        mk, ii = 1, 0
        for _ in range(1, 55):
            ii += 21
            if ii >= 55:
                ii -= 55
            seeds[ii] = mk
            mk = mj - mk
            if mk < 0:
                mk += self.INT_MAX
            mj = seeds[ii]
        for _ in range(1, 5):
            for i in range(1, 56):
                n = i + 30
                if n >= 55:
                    n -= 55
                seeds[i] -= seeds[1 + n]
                # int32 wrap-around, then the generator's own correction
                seeds[i] = ((seeds[i] + 2**31) % 2**32) - 2**31
                if seeds[i] < 0:
                    seeds[i] += self.INT_MAX
        self.seeds, self.inext, self.inextp = seeds, 0, 21

    def _sample(self):
        a = self.inext + 1 if self.inext + 1 < 56 else 1
        b = self.inextp + 1 if self.inextp + 1 < 56 else 1
        value = self.seeds[a] - self.seeds[b]
        if value == self.INT_MAX:
            value -= 1
        if value < 0:
            value += self.INT_MAX
        self.seeds[a], self.inext, self.inextp = value, a, b
        return value

    def _next(self, max_value):
        return int(self._sample() * (1.0 / self.INT_MAX) * max_value)

    def _next_uint64(self):
        return self._next(1 << 22) | (self._next(1 << 22) << 22) | (self._next(1 << 20) << 44)

    def next_int64(self, max_value):
        if max_value <= 1:
            return 0
        bits = (max_value - 1).bit_length()  # BitOperations.Log2Ceiling
        while True:
            result = self._next_uint64() >> (64 - bits)
            if result < max_value:
                return result


def anchor_weights(options, depths, flags):
    """AnchorWeights.Weight per token: γ = λ·A·ρ^max(0, depth − d0), 0 unless parsed; float32 like the C# batch."""
    strategy, lam, rho, d0 = options
    keyword, identifier, parsed = (flags & KEYWORD) != 0, (flags & IDENTIFIER) != 0, (flags & PARSED) != 0
    anchor = {"keyword": keyword, "identifier": identifier, "anchortree": keyword | identifier}.get(strategy)
    if anchor is None:
        return np.zeros(len(depths), np.float32)
    exponent = np.maximum(0, depths.astype(np.int64) - d0).astype(np.float64)
    gamma = lam * np.power(rho, exponent)
    return np.where(anchor & parsed, gamma, 0.0).astype(np.float32)


class Batch:
    """Row-major [rows, L] numpy arrays: ids (int64), anchor weights γ (float32), prompt mask and valid (bool)."""

    def __init__(self, rows, length, pad_id):
        self.ids = np.full((rows, length), pad_id, np.int64)
        self.weights = np.zeros((rows, length), np.float32)
        self.prompt = np.zeros((rows, length), bool)
        self.valid = np.zeros((rows, length), bool)


class DataLoader:
    """DataLoader.cs: packing, truncation or SFT rows (mode pack, truncate, sft) of L tokens, the per-epoch shuffle,
    positions for exact resume."""

    def __init__(self, shards, context_length, batch_size, seed, weight_options, eos_id, pad_id, mode="pack"):
        self.shards, self.length, self.batch_size, self.seed = shards, context_length, batch_size, seed
        self.options, self.eos_id, self.pad_id, self.mode = weight_options, eos_id, pad_id, mode
        self.sample_shard = np.concatenate([np.full(s.samples, i, np.int64) for i, s in enumerate(shards)]) if shards else np.zeros(0, np.int64)
        self.sample_local = np.concatenate([np.arange(s.samples) for s in shards]) if shards else np.zeros(0, np.int64)
        lengths = np.concatenate([np.diff(s.offsets) for s in shards]) if shards else np.zeros(0, np.int64)
        self.stream_start = np.concatenate([[0], np.cumsum(lengths + 1)]).astype(np.int64)
        total = int(self.stream_start[-1])
        self.rows = (total + context_length - 1) // context_length if mode == "pack" else len(lengths)
        if self.rows == 0:
            raise ShardError("no tokens in the given shards")
        if mode == "sft" and eos_id < 0:
            raise ShardError("SFT rows need an end-of-text id")
        self.epoch, self.cursor, self.order = -1, 0, None

    @property
    def position(self):
        return self.epoch, self.cursor

    @position.setter
    def position(self, value):
        epoch, cursor = value
        if epoch < -1 or cursor < 0 or cursor > self.rows or (epoch == -1 and cursor != 0):
            raise ValueError(f"loader position {value} is outside epoch >= 0, cursor in [0, {self.rows}]")
        self.epoch = epoch - 1
        if epoch >= 0:
            self._new_epoch()
        self.cursor = cursor

    def _new_epoch(self):
        self.epoch += 1
        self.cursor = 0
        order = list(range(self.rows))
        random = DotNetRandom(self.seed + self.epoch)
        for i in range(self.rows - 1, 0, -1):
            j = random.next_int64(i + 1)
            order[i], order[j] = order[j], order[i]
        self.order = order

    def next_batch(self, keep=None):
        """The next global batch of batch_size rows; only rows in range `keep` (a rank's slice) are filled."""
        keep = keep or range(self.batch_size)
        batch = Batch(len(keep), self.length, self.pad_id)
        for r in range(self.batch_size):
            if self.epoch < 0 or self.cursor >= self.rows:
                self._new_epoch()
            row = self.order[self.cursor]
            self.cursor += 1
            if r in keep:
                self._fill_row(row, batch, r - keep.start)
        return batch

    def _fill_row(self, row, batch, r):
        if self.mode == "truncate":
            self._copy_sample(row, 0, batch, r, 0, self.length)
            return
        if self.mode == "sft":
            # PackingMode.Sft (docs/corpus.md): one pair per row, the prompt conditioning; the rest of the row after the
            # completion is end-of-text that belongs to the completion (valid, with loss, γ = 0): no padding.
            copied = self._copy_sample(row, 0, batch, r, 0, self.length)
            batch.ids[r, copied:] = self.eos_id
            batch.valid[r, copied:] = True
            return
        position = row * self.length
        end = min(position + self.length, int(self.stream_start[-1]))
        sample = int(np.searchsorted(self.stream_start, position, side="right") - 1)
        written = 0
        while position < end:
            n = self._copy_sample(sample, position - int(self.stream_start[sample]), batch, r, written, end - position)
            written += n
            position += n
            if position < end:  # the end-of-text separator after the sample (weight 0)
                batch.ids[r, written] = self.eos_id
                batch.valid[r, written] = True
                written += 1
                position += 1
                sample += 1

    def _copy_sample(self, sample, offset, batch, r, at, limit):
        shard = self.shards[self.sample_shard[sample]]
        local = int(self.sample_local[sample])
        start, end = int(shard.offsets[local]), int(shard.offsets[local + 1])
        n = min(end - start - offset, limit)
        if n <= 0:
            return 0
        span = slice(start + offset, start + offset + n)
        batch.ids[r, at:at + n] = shard.ids[span]
        batch.valid[r, at:at + n] = True
        batch.prompt[r, at:at + n] = (offset + np.arange(n)) < int(shard.prompts[local])
        batch.weights[r, at:at + n] = anchor_weights(self.options, shard.depths[span], shard.flags[span])
        return n
