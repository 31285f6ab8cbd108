"""Diffusion without models: the composition sampler over denoiser callables, schedulers by
name, noise schedules in pure torch, a clipped DDIM, and score distillation (SDS)."""
