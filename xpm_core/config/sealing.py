"""Validation (required parameters, ``__validate__``) and sealing (generated values, read-only) of a tree."""

from __future__ import annotations

from xpm_core.config.errors import InvalidParameterError, MissingParameterError, format_location
from xpm_core.config.generators import GenerationContext
from xpm_core.config.objects import ConfigMixin, generated_paths, is_generated_value
from xpm_core.config.walk import postorder


def _root_name(config: ConfigMixin) -> str:
    return config.__xpmtype__.display_name.rsplit(".", 1)[-1].lower()


def validate_tree(root: ConfigMixin) -> None:
    """Check that every required parameter of the tree is set, then call each ``__validate__``.

    Children are validated before their parent; a configuration validated once is not again.
    """
    from xpm_core.config import generics  # noqa: PLC0415

    if generics.ANY_GENERIC:
        generics.check_tree(root)
    root_name = _root_name(root)
    for config, path in postorder(root, enter=lambda c: not c.__xpm__._validated):
        info = config.__xpm__
        values = info.values
        for name, argument in info.xpmtype.arguments.items():
            if values.get(name) is None and argument.required and argument.generator is None:
                full = ".".join((root_name, *path, name))
                qualname = info.xpmtype.display_name
                raise MissingParameterError(
                    f"missing required parameter {full}: {qualname}.{name} ({argument.spec.name}) was never set; "
                    f"the {qualname} configuration was created at {format_location(info.initlocation)}: "
                    f"pass {name}=... to {qualname}.C(...)"
                )
        validate = getattr(config, "__validate__", None)
        if validate is not None:
            try:
                validate()
            except Exception as e:
                add_note = getattr(e, "add_note", None)  # Python 3.11+
                if add_note is None:
                    raise
                add_note(
                    f"raised by {info.xpmtype.display_name}.__validate__ for {'.'.join((root_name, *path))} "
                    f"(created at {format_location(info.initlocation)})"
                )
                raise
        info._validated = True


def seal_tree(root: ConfigMixin, context: GenerationContext | None = None) -> None:
    """Generate the values of ``default_factory``/``PathGenerator`` parameters and make the tree read-only.

    ``context`` gives the job directory (the runtime's job context); without it, generating a path
    is an error. Task outputs' tasks are sealed too.
    """
    context = GenerationContext() if context is None else context
    info = root.__xpm__
    reused = [
        name
        for name, value in info.values.items()
        if is_generated_value(info.xpmtype.arguments[name], value)
    ]
    if reused:
        paths = [p for name in reused for p in generated_paths(info.values[name], [name])]
        raise InvalidParameterError(
            f"cannot seal {info.xpmtype.display_name}: {', '.join(paths)} hold values generated for another task"
        )
    for config, path in postorder(root, recurse_task=True, enter=lambda c: not c.__xpm__._sealed):
        cinfo = config.__xpm__
        context.config_path = path
        for name, argument in cinfo.xpmtype.arguments.items():
            generator = argument.generator
            if generator is not None:
                if argument.is_path_generator:
                    value = generator(context, config)
                    if not argument.ignore_generated:
                        cinfo.generated_values.append(name)
                elif cinfo.values.get(name) is not None:
                    continue
                else:
                    value = generator()
                cinfo.set(name, value, bypass=True, location=("<generated>", 0))
            else:
                value = cinfo.values.get(name)
            if (
                isinstance(value, ConfigMixin)
                and value.__xpm__.generated_values
                and not argument.ignore_generated
            ):
                cinfo.generated_values.append(name)
        cinfo._sealed = True
    context.config_path = ()
