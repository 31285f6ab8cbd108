"""Run folders written by spectrocanvas 0.1 (``run.json`` without a ``format``): their identity in
today's form, so `generate` resumes them when the same command runs again.

0.1 stored flat settings with the image model's weight implied (1 − ``audio_weight``), unset
values as null (the warm start, imprint's ``image_steps``, SDS's ``sds_image_start``), and the model
pair as ``preset`` or as ``image_model`` / ``audio_model``. Those unset values are filled here by
the rules 0.1 applied when it sampled, which are today's defaults too.
"""

from __future__ import annotations

from typing import Any

from spectrocanvas.generate.settings import share_rest
from spectrocanvas.pairs.interface import ROLES
from spectrocanvas.pairs.registry import DEFAULT_PAIR

MEMBER_KEYS_01 = ("prompt", "negative", "guidance", "start")
SINCE_0_1 = {"seconds": None, "loop": False, "window_stride": None, "init_audio": None, "init_image": None,
             "strength": None, "init_digest": None}
"""Settings 0.1 did not have, as a run that does not use them records them: the native length, no
loop, no windows, nothing to start from."""


def upgrade_identity(old: dict[str, Any]) -> dict[str, Any]:
    """A 0.1 run identity → the identity :func:`spectrocanvas.generate.runs.run_identity` makes today."""
    flat = dict(old.get("settings", {}))
    steps = flat.get("steps")
    if flat.get("image_start") is None and steps is not None:
        flat["image_start"] = int(round(steps * 0.1))  # 0.1's warm start: a tenth of the steps
    weights = share_rest({"image": None, "audio": flat.pop("audio_weight", None)})
    settings: dict[str, Any] = {key: flat.get(key) for key in ("seed", "steps", "scheduler", "crop_columns",
                                                               "latent_height", "latent_width")}
    settings.update(SINCE_0_1)
    for role in ROLES:
        settings.update({f"{role}_{key}": flat.get(f"{role}_{key}") for key in MEMBER_KEYS_01})
        settings.update({f"{role}_weight": weights[role], f"{role}_end": None})
    method = flat.get("method", "denoise")
    if method == "imprint":
        settings["image_steps"] = flat.get("image_steps") or steps
    if method == "sds":
        iterations, start = flat.get("sds_iterations"), flat.get("sds_image_start")
        if start is None:
            start = int(round(iterations / 8)) if weights["audio"] > 0 else 0
        settings.update(sds_iterations=iterations, sds_lr=flat.get("sds_lr"), sds_image_start=start)
    settings["method"] = method
    pair = old.get("preset") or DEFAULT_PAIR
    models = {role: old[f"{role}_model"] for role in ROLES if f"{role}_model" in old}
    return {"pair": pair, "models": models, "settings": settings, "dtype": old.get("dtype"),
            "vocoder": old.get("vocoder")}
