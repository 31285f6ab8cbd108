"""From the options a user gave (flat names, ``None`` where unset) to complete settings.

Layers, each over the one before: the schema's defaults; the method's own settings' defaults; the
pair's default groups, then its groups for this method (a group applies only when the user set
none of its settings, so ``--method imprint --steps 20`` runs both models for 20 steps); what the
user set; what the method fixes (a single-model reference drops the other model). Then derived
values are computed (the warm start is a tenth of the steps), unset weights share what is left
of 1, and the method fills its own settings that depend on others.

``strict``: a set option that the method fixes otherwise, or a setting of another method, is an
error (generate); else it is dropped (compare passes one set of options to every method).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.generate.inputs import resolve_length
from spectrocanvas.generate.methods import METHODS, get_method
from spectrocanvas.generate.schema import MEMBER_OPTIONS, RUN_OPTIONS, Setting, option_table
from spectrocanvas.generate.settings import GenerateSettings, MemberSettings, flag, share_rest
from spectrocanvas.pairs.interface import ROLES, Derived, PairEntry
from spectrocanvas.pairs.registry import get_pair

OPTIONAL = ("seconds", "window_stride", "init_audio", "init_image", "strength", "init_digest")
"""Run settings that may stay unset."""


def settings_table(roles: tuple[str, ...] = ROLES) -> dict[str, Setting]:
    """Every flat setting a composition of ``roles`` takes, with every method's own."""
    return option_table([(m.name, m.options) for m in METHODS.values()], roles)


def check_prompts(settings: GenerateSettings, entry: PairEntry) -> None:
    """Refuse prompts the pair's models cannot take, in one line, before anything loads."""
    for member in settings.members:
        if member.weight > 0 and member.prompt.strip():
            entry.check_prompt(member.role, member.prompt)
    if not entry.negative_prompts and any(m.negative for m in settings.members):
        raise SpectrocanvasError(f"the {entry.name} models take no negative prompts; leave out "
                                 + " and ".join(flag(f"{m.name}_negative") for m in settings.members))


def check_settings(settings: GenerateSettings, entry: PairEntry) -> None:
    """Every check that needs no model: the settings, the method's own, then the prompts against the pair."""
    settings.validate()
    method = get_method(settings.method)
    if method.check is not None:
        method.check(settings)
    check_prompts(settings, entry)


def resolve_settings(options: Mapping[str, Any], *, pair: PairEntry | str | None = None, method: str = "denoise",
                     strict: bool = True) -> GenerateSettings:
    """Complete, checked settings for ``method`` on ``pair`` from the user's flat options (see the module notes)."""
    entry = pair if isinstance(pair, PairEntry) else get_pair(pair)
    spec = get_method(method)
    table = settings_table()
    unknown = sorted(set(options) - set(table))
    if unknown:
        raise SpectrocanvasError(f"unknown setting(s) {', '.join(unknown)}")
    chosen = {k: v for k, v in options.items() if v is not None}
    for name in [k for k in chosen if table[k].method not in (None, method)]:
        if strict:
            raise SpectrocanvasError(f"{flag(name)} applies to --method {table[name].method}, not {method}")
        del chosen[name]
    if not spec.takes_init:
        for name in [k for k in ("init_audio", "init_image", "strength") if k in chosen]:
            if strict:
                raise SpectrocanvasError(f"--method {method} starts from noise; leave out {flag(name)}")
            del chosen[name]
    members = {role: role for role in ROLES}
    fixed = spec.fixed(members)
    for name, value in fixed.items():
        if name in chosen and chosen[name] != value:
            if strict:
                to = "the last step" if value is None else f"{value:g}"
                raise SpectrocanvasError(f"--method {method} fixes {flag(name)} to {to}; leave it out")
            del chosen[name]

    values: dict[str, Any] = {o.key: o.default for o in RUN_OPTIONS}
    values.update({f"{role}_{o.key}": o.default for role in members for o in MEMBER_OPTIONS})
    values.update({o.key: o.default for o in spec.options})
    for group in (*entry.defaults, *entry.method_defaults.get(method, ())):
        if set(group) - set(table):
            raise ValueError(f"pair {entry.name}'s defaults name unknown settings {sorted(set(group) - set(table))}")
        if not any(name in chosen for name in group):
            values.update(group)
    values.update(chosen)
    values.update(fixed)
    values.update({k: v.compute(values) for k, v in values.items() if isinstance(v, Derived)})
    values.update({f"{role}_weight": w for role, w in
                   share_rest({role: values[f"{role}_weight"] for role in members}).items()})
    values.update(resolve_length(values, entry))
    for role, init in (("audio", "init_audio"), ("image", "init_image")):
        if values.get(init) and values.get(f"{role}_prompt") is None:  # the input says what it is
            values[f"{role}_prompt"] = ""
    method_options = {o.key: values[o.key] for o in spec.options}
    if spec.resolve is not None:
        method_options.update(spec.resolve(values, members))
    missing = [name for name, value in values.items() if value is None and table[name].method is None
               and not (table[name].role and table[name].option.key == "end") and name not in OPTIONAL]
    missing += [name for name, value in method_options.items() if value is None]
    if missing:
        raise SpectrocanvasError(f"give {' and '.join(flag(name) for name in missing)}")
    settings = GenerateSettings(
        members=tuple(MemberSettings(name=role, role=role, **{o.key: values[f"{role}_{o.key}"] for o in MEMBER_OPTIONS})
                      for role in members),
        method=method, method_options=method_options,
        **{o.key: values[o.key] for o in RUN_OPTIONS})
    check_settings(settings, entry)
    return settings

