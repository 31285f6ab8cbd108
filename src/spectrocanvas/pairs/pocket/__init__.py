"""The pocket pair: two small class-conditional diffusion models the project trains itself on
pictures and sounds it synthesises, on a 32 × 128 canvas (2 s of 16 kHz audio, 32 mel bands),
run by the same composition sampler, methods and outputs as the full-size pair, on a CPU.

Inference: :mod:`~.spec` (the canvas), :mod:`~.vocab` (the words), :mod:`~.unet` and
:mod:`~.classifier` (the networks, built by :mod:`~.networks`), :mod:`~.schedule` (noise
schedule and sampler), :mod:`~.weights` (the shipped files), :mod:`~.judges` (the scorer),
:mod:`~.defaults` and :mod:`~.pair` (the registry entry). Training and its data:
:mod:`~.training`.
"""
