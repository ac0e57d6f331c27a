"""The `twinlens` command. Subcommands load lazily so that `twinlens submit` never imports
TensorFlow and `twinlens classify` never needs a server."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
SUBCOMMANDS = {
    "classify": "worker.cli:classify",
    "fetch-weights": "worker.cli:fetch_weights",
    "submit": "shared.client_cli:submit",
    "status": "shared.client_cli:status",
    "results": "shared.client_cli:results",
    "up": "shared.devstack:up",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup)
@click.version_option(package_name="twinlens")
def main() -> None:
    """twinlens: every image through VGG16 and ResNet50, top-5 side by side."""


if __name__ == "__main__":
    main()
