"""The simulated market: participants with their own beliefs about event-level outcomes.

* ``profile``: every knob (``CrowdConfig``, ``Archetype``), TOML loading, documented defaults.
* ``outcome``: one latent outcome process per event; markets price off it (ladders consistent).
* ``agents``: what makers and takers want (pure); ``quoting``: placing it on the engine.
* ``model``: the discrete-event model advanced in simulated time; ``headless``: in-process runs.
* ``report``: the realism report measured against real Kalshi statistics.
"""
