"""Trackers: what measures. The one timer (`timing`), the device sampler (`sampler`, with
`nvml` for the GPU), torch.compile's counters (`compile_stats`), the run's environment
(`environment`) and the phase events a worker sends the runner (`events`). They only
measure: no database, no printing, no scenario logic."""
