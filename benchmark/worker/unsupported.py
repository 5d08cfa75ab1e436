"""The one exception a scenario raises on purpose. Its own module, below `context` and every
backend (`quantization`, `ort`, `kernels`), so a backend that refuses a model need not
import the context that loads it: that made `context` <-> `quantization` a circle."""


class Unsupported(Exception):
    """This device or these libraries cannot run the scenario (the message says why): the
    worker reports it as skipped, not as a failure."""
