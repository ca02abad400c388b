"""Independent, naive reference of our byte-level BPE trainer (AnCoder.Anchoring.Tokenization.BpeTrainer) for
ASCII corpora, where the Qwen2 pre-tokenizer pattern can be written with Python's `re` (\\p{L} -> [A-Za-z],
\\p{N} -> [0-9], \\s -> ASCII whitespace). Every step recounts all pairs from scratch.

Rules (the contract): ids 0..2 special tokens, 3..258 bytes in byte order, then merges; merge the pair with the
highest count, ties -> smallest (left id, right id); stop when the best count < min_count or the vocabulary is full;
a merge whose bytes already have a token reuses that id.

usage: python3 bpe_reference.py VOCAB_SIZE MIN_COUNT FILE...   -> prints one merge per line as hex `left right`.
"""
import re
import sys

PATTERN = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]"
    r"| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def pieces(text):
    return [m.group(0) for m in PATTERN.finditer(text)]


def train(texts, vocab_size, min_count, special_count=3):
    counts = {}
    for text in texts:
        for piece in pieces(text):
            counts[piece] = counts.get(piece, 0) + 1
    tokens = [b"<special>"] * special_count + [bytes([b]) for b in range(256)]
    id_of = {bytes([b]): special_count + b for b in range(256)}
    words = [([special_count + b for b in piece.encode()], c) for piece, c in counts.items() if len(piece.encode()) > 1]
    merges = []
    while len(tokens) < vocab_size:
        pair_counts = {}
        for symbols, c in words:
            for pair in zip(symbols, symbols[1:]):
                pair_counts[pair] = pair_counts.get(pair, 0) + c
        if not pair_counts:
            break
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        if pair_counts[best] < min_count:
            break
        joined = tokens[best[0]] + tokens[best[1]]
        if joined in id_of:
            new_id = id_of[joined]
        else:
            new_id = len(tokens)
            tokens.append(joined)
            id_of[joined] = new_id
        merges.append((tokens[best[0]], tokens[best[1]]))
        for k, (symbols, c) in enumerate(words):
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[k] = (out, c)
    return merges


if __name__ == "__main__":
    size, min_count = int(sys.argv[1]), int(sys.argv[2])
    texts = [open(path, encoding="ascii").read() for path in sys.argv[3:]]
    for left, right in train(texts, size, min_count):
        print(left.hex(), right.hex())
