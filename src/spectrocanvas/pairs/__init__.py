"""Model pairs: two diffusion models that share one latent space, as generation and scoring see
them (:mod:`~.interface`), the pairs spectrocanvas knows (:mod:`~.registry`: SD 1.5 + Auffusion in
:mod:`~.sd_auffusion`, the pocket pair in :mod:`~.pocket`), and what loading them takes (the hub,
one model cache, Stable-Diffusion-layout models, CLIP and CLAP scorers)."""
