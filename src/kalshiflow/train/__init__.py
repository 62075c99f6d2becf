"""Training: the gymnasium environment over the in-process simulator, PPO (extra ``rl``) and export.

Importing this package needs numpy and gymnasium only; torch and stable-baselines3 are imported by
the training functions that use them (``train.ppo``), so the environment and its tests run without.
"""
