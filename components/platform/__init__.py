"""The composition root: the root stack config, cloud settings, providers, the outputs contract and the `Platform` component."""
