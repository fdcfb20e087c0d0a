#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ with the flags the builder image
# sets (address sanitizer, libFuzzer) and puts in $OUT, per target:
#   <target>                  the fuzzer
#   <target>.dict             the shared WebSocket dictionary
#   <target>_seed_corpus.zip  the committed seeds of fuzz/corpus/<target>/
set -eu  # also when run as `bash build.sh`, which ignores the #! flags
cd "$SRC/wsconform"

# -O: optimised, as the OSS-Fuzz Rust guide does; --debug-assertions keeps
# overflow checks on, so an arithmetic overflow in the decoder is a finding.
cargo fuzz build -O --debug-assertions

bin=fuzz/target/x86_64-unknown-linux-gnu/release
for target in $(cargo fuzz list); do
    # tungstenite_header only measures tungstenite's parser for
    # BENCHMARKS.md; it checks nothing of ours, so it is not fuzzed here.
    if [ "$target" = tungstenite_header ]; then
        continue
    fi
    cp "$bin/$target" "$OUT/"
    cp fuzz/dict/websocket.dict "$OUT/$target.dict"
    if [ -d "fuzz/corpus/$target" ]; then
        (cd "fuzz/corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
done
