"""The simulated market: participants with their own beliefs about event-level outcomes.

* ``profile``: every knob (``CrowdConfig``, ``Archetype``), TOML loading, documented defaults.
* ``outcome``: one latent outcome process per event; markets price off it (ladders consistent).
* ``agents``: what makers and takers want (pure); ``quoting``: placing a maker's ladder on the
  engine; ``makers``: how each maker re-quotes, and the deep book.
* ``model``: the discrete-event model advanced in simulated time (takers, news, lifecycle);
  ``state``: its records; ``headless``: in-process runs as fast as the CPU allows.
* ``observe``, ``report``, ``report_plots``, ``report_cmd``, ``realdata``: the realism report,
  measured against real Kalshi statistics.
"""
