"""The exchange over a recorded session: the simulator's engine, its book mirrored from a recording.

``fill_model`` states how the trader's orders fill against recorded depth (pure functions);
``tape`` applies a recording to an ``Engine`` so that its matching carries that model out.
"""
