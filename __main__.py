"""Pulumi entry point: load the typed stack config, build the platform, export the outputs contract."""

import pulumi

from components.lib.tagging import standard_tags, tag_transform
from components.platform.component import Platform
from components.platform.config import ConfigError, load_from_pulumi

try:
    config = load_from_pulumi()
except ConfigError as error:
    for problem in error.problems:
        pulumi.log.error(problem)
    # RunError ends the program with the message alone: a config mistake is not a crash, no traceback.
    raise pulumi.RunError(str(error)) from None

pulumi.runtime.register_resource_transform(tag_transform(standard_tags(config.tags, config.environment)))
platform = Platform(f"platform-{config.environment}", config)
for key, value in platform.outputs.items():
    pulumi.export(key, value)
