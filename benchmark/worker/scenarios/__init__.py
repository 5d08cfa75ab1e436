"""One module per scenario kind, each a `run(ctx)` that measures and reports figures.
SCENARIOS maps every kind of contracts.config.KINDS to its function (a test checks both
lists agree)."""

from . import assisted, compiled_decode, compiled_generate, eager, load, ort_decode, prompt_lookup, selftest

SCENARIOS = {
    "load": load.run,
    "eager": eager.run,
    "compiled_decode": compiled_decode.run,
    "compiled_generate": compiled_generate.run,
    "prompt_lookup": prompt_lookup.run,
    "assisted": assisted.run,
    "onnxruntime": ort_decode.run,
    "selftest_crash": selftest.crash,
    "selftest_hang": selftest.hang,
    "selftest_error": selftest.error,
}
