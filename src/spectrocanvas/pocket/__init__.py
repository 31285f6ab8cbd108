"""The pocket preset: a small pair of diffusion models the project trains itself on data it
synthesises, on a 32 × 128 canvas (2 s of 16 kHz audio, 32 mel bands), run by the same
composition sampler as the full-size models.

Public API (for ``spectrocanvas generate --preset pocket``): :data:`POCKET` (the canvas spec),
:data:`IMAGE_CLASSES`, :data:`SOUND_CLASSES`, :func:`class_index`, :func:`load_pocket`,
:func:`scheduler_config` and :func:`pocket_scheduler`; its sampling defaults are in
:mod:`spectrocanvas.pocket.defaults`, and ``load_pocket()`` reads ``weights/`` or the folder
``$SPECTROCANVAS_POCKET_WEIGHTS`` names. The pair as a run sees it: :class:`spectrocanvas.model_pair.PocketPair`.
"""

from spectrocanvas.pocket.spec import CANVAS_SHAPE, POCKET, from_model, to_model
from spectrocanvas.pocket.vocab import IMAGE_CLASSES, SOUND_CLASSES, UnknownWordError, class_index, null_class

__all__ = ["CANVAS_SHAPE", "POCKET", "IMAGE_CLASSES", "SOUND_CLASSES", "UnknownWordError", "class_index",
           "null_class", "from_model", "to_model", "load_pocket", "scheduler_config", "pocket_scheduler"]


def __getattr__(name: str):
    # heavier imports (diffusers, the models) only when asked for
    if name == "load_pocket":
        from spectrocanvas.pocket.load import load_pocket
        return load_pocket
    if name in ("scheduler_config", "pocket_scheduler"):
        from spectrocanvas.pocket import schedule
        return getattr(schedule, name)
    raise AttributeError(name)
